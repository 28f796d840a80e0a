import { CfnOutput, Fn, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { ResolvedPipeline } from "#config/resolve.ts";
import type { Network } from "#config/schema.ts";
import { MysqlRedshiftSync } from "./mysql-redshift-sync.ts";
import { acknowledgeFindings } from "./nag-suppressions.ts";

export type SyncStackProps = StackProps & {
  pipelines: readonly ResolvedPipeline[];
  configDir: string;
  configEnv?: Readonly<Record<string, string | undefined>>;
  network?: Network;
  ownedCompletionBuckets?: readonly string[];
  createCopyRole?: boolean;
  /** `-c mrsync:operatorRoleArns`: the operators' roles, trusted by the warehouse role (the CLI's warehouse SQL). */
  operatorRoleArns?: readonly string[];
};

/** The repo's deployable stack: the construct with config/'s pipelines, and the outputs operators need. */
export class SyncStack extends Stack {
  readonly sync: MysqlRedshiftSync;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, props);
    this.sync = new MysqlRedshiftSync(this, "Sync", {
      pipelines: props.pipelines,
      configDir: props.configDir,
      configEnv: props.configEnv,
      createCopyRole: props.createCopyRole,
      operatorRoleArns: props.operatorRoleArns,
      network: props.network,
      ownedCompletionBuckets: props.ownedCompletionBuckets,
    });
    acknowledgeFindings(this.sync);
    new CfnOutput(this, "StagingBucketName", { value: this.sync.staging.bucket.bucketName });
    new CfnOutput(this, "StateMachineArn", {
      value: this.sync.stateMachine.stateMachine.stateMachineArn,
      description: "mrsync sync pipeline --state-machine-arn",
    });
    new CfnOutput(this, "WarehouseRoleArn", {
      value: this.sync.warehouseRole.roleArn,
      description: "the identity of every Data API call: mrsync grants -p P --role-arn <this>",
    });
    new CfnOutput(this, "WarehouseDatabaseUser", {
      value: Fn.join("", ["IAMR:", this.sync.warehouseRole.roleName]),
      description: "the database user the steps run as on Redshift Serverless with IAM auth (mrsync grants -p P --database-user <this>)",
    });
    if (this.sync.copyRole !== undefined) {
      new CfnOutput(this, "CopyRoleArn", {
        value: this.sync.copyRole.roleArn,
        description: "associate with the Redshift namespace or cluster (README, Deploying)",
      });
    }
    new CfnOutput(this, "AlarmTopicArn", { value: this.sync.monitoring.topic.topicArn, description: "subscribe the on-call here" });
  }
}
