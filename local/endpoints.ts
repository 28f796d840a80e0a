/**
 * Where `npm run local` listens and the throwaway credentials its stand-ins accept: constants only, so the CLI can
 * point at the stand-ins (--local) without loading them or their dev dependencies.
 */

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
