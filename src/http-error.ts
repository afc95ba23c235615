/** An HTTP request refused on purpose: its status, the message for the caller and extra JSON fields. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body of the answer: `{error, ...extra}`. */
  body(): Record<string, unknown> {
    return { error: this.message, ...this.extra };
  }
}
