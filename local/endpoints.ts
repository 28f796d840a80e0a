/**
 * Where `npm run local` listens and the throwaway credentials its stand-ins accept: constants only, so the CLI can
 * point at the stand-ins (--local) without loading them or their dev dependencies.
 */

import { createHash } from "node:crypto";
/** The throwaway credentials the local stand-ins accept (they check no signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local-secret" };
/** The fixed ports of `npm run local` (the CLI's --local defaults to them). */
export const LOCAL_PORTS = { s3: 4569, redshift: 4570 } as const;

/** The local stand-ins' AWS account. */
export const LOCAL_ACCOUNT_ID = "000000000000";
/**
 * The stack's warehouse role, locally (`${WarehouseRoleArn}`, MRSYNC_WAREHOUSE_ROLE_ARN): its SQL runs as
 * IAMR:mrsync-warehouse. Every --local command's warehouse SQL runs as it, as the deployed functions' does.
 */
export const LOCAL_WAREHOUSE_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/mrsync-warehouse`;
/** The local stand-ins' AWS Region (the stack's, locally: a target elsewhere is refused as on AWS). */
export const LOCAL_REGION = "us-east-1";
/** The stack's name locally: its state machine is `${LOCAL_STACK_NAME}-sync-pipeline`, as the local runner names it. */
export const LOCAL_STACK_NAME = "mrsync";
/**
 * The operator the local CLI runs as (`MRSYNC_LOCAL_OPERATOR_ROLE_ARN` to be another): a role outside the stack that
 * the local stack's synth names in `mrsync:operatorRoleArns`, so the warehouse role trusts it as a deployed stack
 * trusts the operators named at `cdk deploy`.
 */
export const LOCAL_OPERATOR_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/mrsync-operator`;
/** The variable naming the role the local CLI runs as. */
export const LOCAL_OPERATOR_ROLE_ENV = "MRSYNC_LOCAL_OPERATOR_ROLE_ARN";
/** A step's function (and its role, and its Lambda session) locally: `mrsync-<handler module>`. */
export const localFunctionName = (handlerModule: string) => `${LOCAL_STACK_NAME}-${handlerModule}`;
/** The local state machine (`${stack}-sync-pipeline`, as the stack names it). */
export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${LOCAL_STACK_NAME}-sync-pipeline`;
/** A local function's ARN (`${<Step>FunctionArn}` in the definition, the resource of lambda:InvokeFunction). */
export const localFunctionArn = (functionName: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
/** A role's unique id (`AROA…`, `Fn::GetAtt Role.RoleId`): the first half of its sessions' aws:userid. */
export const localRoleId = (roleArn: string) => `AROA${createHash("sha256").update(roleArn).digest("hex").slice(0, 17).toUpperCase()}`;
/** A local workgroup's id (the last part of its ARN), derived from its name. */
export const localWorkgroupId = (workgroupName: string) => {
  const hex = createHash("sha256").update(workgroupName).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};
