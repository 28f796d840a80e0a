import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { MysqlRedshiftSync } from "./mysql-redshift-sync.ts";

export type SyncStackProps = StackProps & { pipelines: readonly ResolvedPipeline[] };

export class SyncStack extends Stack {
  readonly sync: MysqlRedshiftSync;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, props);
    this.sync = new MysqlRedshiftSync(this, "Sync", { pipelines: props.pipelines });
    new CfnOutput(this, "StagingBucketName", { value: this.sync.staging.bucket.bucketName });
  }
}
