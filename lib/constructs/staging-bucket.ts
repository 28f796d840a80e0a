import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { COMPLETION_MARKERS_PREFIX } from "#domain/s3-layout.ts";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

export type StagingBucketProps = {
  /** Prefixes of staged Parquet files and manifests (one per pipeline): they move to Standard-IA after 30 days. */
  stagedPrefixes?: readonly string[];
  removalPolicy?: RemovalPolicy;
};

const privateBucket = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
} as const;

/**
 * The staging bucket: Parquet chunks, COPY manifests and watermarks. Private, TLS-only, encrypted, versioned,
 * access-logged, with EventBridge notifications on. Staged files are never expired by a rule — a file pending load
 * must not disappear (`mrsync s3clean` deletes loaded files only) — they move to Standard-IA instead.
 */
export class StagingBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: StagingBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.accessLogs = new s3.Bucket(this, "AccessLogs", {
      ...privateBucket,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });
    this.bucket = new s3.Bucket(this, "Bucket", {
      ...privateBucket,
      versioned: true,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: "staging/",
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { noncurrentVersionExpiration: Duration.days(7) },
        ...(props.stagedPrefixes ?? []).map((prefix) => ({
          prefix,
          transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
        })),
      ],
      removalPolicy,
    });
  }
}

export type CompletionBucketProps = { bucketName?: string; accessLogs: s3.IBucket; removalPolicy?: RemovalPolicy };

/**
 * A completion-marker bucket the stack owns: markers are an audit trail (Standard-IA at 30 days, Glacier at 90,
 * gone at 365), and EventBridge notifications let subscribers react to `completion_marker.txt`.
 */
export class CompletionBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: CompletionBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, "Bucket", {
      ...privateBucket,
      bucketName: props.bucketName,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: "completion/",
      lifecycleRules: [
        {
          prefix: COMPLETION_MARKERS_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(90) },
          ],
          expiration: Duration.days(365),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
