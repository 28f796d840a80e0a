import path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { LAMBDA_NODE_OPTIONS } from "#shared/runtime.ts";
import { CONFIG_RESOLVED_ENV } from "../config-snapshot.ts";
import { METRICS_NAMESPACE, SERVICE_NAME } from "#shared/powertools.ts";

const ROOT = path.join(import.meta.dirname, "..", "..");

export type SyncFunctionProps = {
  /** lambdas/handlers/<handler>.ts */
  handler: string;
  timeout?: Duration;
  memorySize?: number;
  /** Native modules installed next to the bundle (for the arm64 runtime) instead of bundled. */
  nativeModules?: string[];
  network?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
  environment?: Record<string, string>;
  /** The config directory bundled next to the handler (snapshotConfig's: `${VAR}` resolved at synth). */
  configDir: string;
};

/**
 * Every function of the product, with its defaults in one place: Node 24 on arm64, ESM bundle by esbuild with
 * the stack's config (resolved at synth) copied next to it, JSON logs into a log group with retention, X-Ray tracing, Powertools settings, the
 * V8 flags the extraction was measured with, and the VPC placement that reaches MySQL.
 */
export class SyncFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: SyncFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    super(scope, id, {
      entry: path.join(ROOT, "lambdas", "handlers", `${props.handler}.ts`),
      handler: "handler",
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, "package-lock.json"),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(5),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      ...(props.network === undefined ? {} : { vpc: props.network.vpc, vpcSubnets: props.network.subnets, securityGroups: props.network.securityGroups }),
      environment: {
        MRSYNC_CONFIG_DIR: "/var/task/config",
        [CONFIG_RESOLVED_ENV]: "true",
        NODE_OPTIONS: [...LAMBDA_NODE_OPTIONS, "--enable-source-maps"].join(" "),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: "INFO",
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: "node24",
        sourceMap: true,
        minify: false,
        // CommonJS dependencies (mysql2, …) call require(): give the ESM bundle one.
        banner: "import { createRequire as __mrsyncRequire } from 'module'; const require = __mrsyncRequire(import.meta.url);",
        ...(props.nativeModules === undefined
          ? {}
          : {
              nodeModules: props.nativeModules,
              // npm installs the native binary of the Lambda platform, not of the machine running synth.
              environment: { npm_config_os: "linux", npm_config_cpu: "arm64", npm_config_libc: "glibc" },
            }),
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [`cp -R "${props.configDir}" "${outputDir}/config"`],
        },
      },
    });
  }
}
