/**
 * Typed errors. `name` is what Lambda reports as the error type, so Step Functions Retry/Catch can match on it:
 * keep names stable — they are part of the state machine's contract.
 */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, options?: ErrorOptions) {
    super(`s3://${bucket}/${key} does not exist`, options);
    this.bucket = bucket;
    this.key = key;
  }
}

/** A conditional write lost: someone else wrote the object since it was read (or created it first). */
export class PreconditionFailedError extends Error {
  override readonly name = "PreconditionFailedError";
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, condition: string, options?: ErrorOptions) {
    super(`conditional write to s3://${bucket}/${key} refused (${condition}): it changed since it was read`, options);
    this.bucket = bucket;
    this.key = key;
  }
}
