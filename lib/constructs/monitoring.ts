import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "#shared/powertools.ts";
import { METRICS } from "#shared/metrics.ts";

export type MonitoringProps = { stateMachine: sfn.IStateMachine; pipelines: readonly string[] };

const PERIOD = Duration.minutes(5);

/**
 * Alarms on failed and timed-out executions (to an SNS topic the on-call subscribes to) and a dashboard with rows,
 * duration, failures and estimated cost per pipeline, from the handlers' EMF metrics (namespace MysqlRedshiftSync).
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const key = new kms.Key(this, "AlarmTopicKey", { enableKeyRotation: true, description: "mysql-redshift-sync alarm topic" });
    // CloudWatch alarms publish to an encrypted topic only if the key lets them.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        resources: ["*"],
      }),
    );
    this.topic = new sns.Topic(this, "Alarms", { masterKey: key, enforceSSL: true, displayName: "mysql-redshift-sync alarms" });
    const alarmAction = new actions.SnsAction(this.topic);
    const alarms = [
      [
        "ExecutionsFailed",
        props.stateMachine.metricFailed({ period: PERIOD, statistic: "Sum" }),
        "A sync execution failed: a table's error is in the execution's cause and its watermark (mrsync status)",
      ],
      ["ExecutionsTimedOut", props.stateMachine.metricTimedOut({ period: PERIOD, statistic: "Sum" }), "A sync execution timed out"],
    ] as const;
    for (const [name, metric, description] of alarms) {
      const alarm = new cloudwatch.Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(alarmAction);
    }

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.days(7) });
    // Table steps emit per Pipeline and Table; Summarize (the run's cost) per Pipeline only.
    const search = (pipeline: string, metric: string, statistic: string, label: string, dimensions = "Pipeline,Table,service") =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},${dimensions}} MetricName="${metric}" Pipeline="${pipeline}"', '${statistic}', ${PERIOD.toSeconds()})`,
        label,
        period: PERIOD,
      });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Executions",
        left: [
          props.stateMachine.metricSucceeded({ period: PERIOD }),
          props.stateMachine.metricFailed({ period: PERIOD }),
          props.stateMachine.metricTimedOut({ period: PERIOD }),
        ],
        width: 24,
      }),
    );
    for (const pipeline of props.pipelines) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${pipeline}: rows extracted per table`,
          left: [search(pipeline, METRICS.RowsProcessed, "Sum", "rows")],
          width: 8,
        }),
        new cloudwatch.GraphWidget({ title: `${pipeline}: sync duration (s)`, left: [search(pipeline, METRICS.SyncDuration, "Maximum", "seconds")], width: 8 }),
        new cloudwatch.GraphWidget({ title: `${pipeline}: failed tables`, left: [search(pipeline, METRICS.SyncFailure, "Sum", "failures")], width: 8 }),
        new cloudwatch.GraphWidget({
          title: `${pipeline}: reconcile differences per table`,
          left: [search(pipeline, METRICS.ReconcileDifferences, "Sum", "differences")],
          width: 8,
        }),
        // A live source at work, not a failure: rows committed into windows after they were read, read again.
        new cloudwatch.GraphWidget({
          title: `${pipeline}: late rows read again per table`,
          left: [search(pipeline, METRICS.LateRows, "Sum", "late rows")],
          right: [search(pipeline, METRICS.WindowsReread, "Sum", "windows read again")],
          width: 8,
        }),
        // What the runs cost, estimated from the steps they took (domain/cost.ts): the run's, and the tables' share.
        new cloudwatch.GraphWidget({
          title: `${pipeline}: estimated cost (USD)`,
          left: [search(pipeline, METRICS.RunCostUsd, "Sum", "runs", "Pipeline,service")],
          right: [search(pipeline, METRICS.TableCostUsd, "Sum", "per table")],
          width: 8,
        }),
      );
    }
  }
}
