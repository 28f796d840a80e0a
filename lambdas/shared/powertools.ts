/**
 * The Powertools instances, created once per container and shared by every handler: JSON logs with the run's keys
 * on every line, EMF metrics in the `MysqlRedshiftSync` namespace, X-Ray tracing (a no-op outside Lambda).
 * Settings come from the environment the Lambda construct sets (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, …).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";

export const SERVICE_NAME = "mysql-redshift-sync";
export const METRICS_NAMESPACE = "MysqlRedshiftSync";

export const logger = new Logger({ serviceName: SERVICE_NAME });
// Metrics warnings (e.g. a step that emitted none) go through the logger, so they are JSON and follow its level.
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
