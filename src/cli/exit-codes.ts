/** Exit codes: 0 ok, 1 the command ran and found a problem, 2 bad usage or configuration, 3 a dependency is unreachable. */
export const EXIT = { ok: 0, problem: 1, usage: 2, unavailable: 3 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
