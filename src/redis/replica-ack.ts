import type { Redis } from 'ioredis';

/** REDIS_MIN_REPLICAS_ACK and REDIS_REPLICA_ACK_TIMEOUT_MS: how many replicas must hold a write, and how long to wait for them. */
export interface ReplicaAck {
  replicas: number;
  timeoutMs: number;
}

/** Fewer replicas than asked for confirmed the writes in time: they are on the primary, and may be lost in a failover. */
export class ReplicaAckError extends Error {
  constructor(
    readonly confirmed: number,
    readonly ack: ReplicaAck,
  ) {
    super(
      `${confirmed} of ${ack.replicas} replica${ack.replicas > 1 ? 's' : ''} confirmed the write within ${ack.timeoutMs} ms`,
    );
    this.name = 'ReplicaAckError';
  }
}

/**
 * Waits until `ack.replicas` replicas hold every write made so far on `redis` — this connection's
 * (Redis `WAIT numreplicas timeout`), so call it on the connection that wrote, right after the write.
 * A connection shared by concurrent requests waits for their writes too, which is only stricter.
 * Resolves at once when no replica is asked for; throws ReplicaAckError when too few confirm in time.
 */
export async function awaitReplicas(redis: Redis, ack: ReplicaAck): Promise<void> {
  if (ack.replicas <= 0) return;
  const confirmed = Number(await redis.wait(ack.replicas, ack.timeoutMs));
  if (confirmed < ack.replicas) throw new ReplicaAckError(confirmed, ack);
}
