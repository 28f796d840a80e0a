import { Construct } from "constructs";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { StagingBucket, type StagingBucketProps } from "./constructs/staging-bucket.ts";

export type MysqlRedshiftSyncProps = {
  /** Pipelines from config/ (loadConfig); validated before synth, so a bad config never deploys. */
  pipelines: readonly ResolvedPipeline[];
  staging?: StagingBucketProps;
};

/**
 * The product as one reusable construct: a platform team can embed it in its own app. For now it holds the
 * staging bucket; the state machine, its functions and schedules are added as they are built.
 */
export class MysqlRedshiftSync extends Construct {
  readonly staging: StagingBucket;
  readonly pipelines: readonly ResolvedPipeline[];

  constructor(scope: Construct, id: string, props: MysqlRedshiftSyncProps) {
    super(scope, id);
    this.pipelines = props.pipelines;
    this.staging = new StagingBucket(this, "Staging", props.staging);
  }
}
