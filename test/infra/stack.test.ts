import path from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as s3 from "aws-cdk-lib/aws-s3";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { loadConfig } from "#config/loader.ts";
import { SyncStack } from "../../lib/sync-stack.ts";

const root = path.join(import.meta.dirname, "..", "..");

function appWithNag(): App {
  const app = new App({ outdir: path.join(root, "cdk.out", "test-" + String(process.pid)) });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe("SyncStack", () => {
  it("synthesises a private, TLS-only, encrypted, logged staging bucket, cdk-nag clean", async () => {
    const { pipelines } = await loadConfig(path.join(root, "config"), {});
    const app = appWithNag();
    const stack = new SyncStack(app, "TestSync", { pipelines });
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      BucketEncryption: Match.anyValue(),
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "staging/" }),
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]),
      }),
    });
  });

  it("fails synth when cdk-nag finds an unacknowledged problem (the check can fail)", () => {
    const app = appWithNag();
    const stack = new Stack(app, "Careless");
    new s3.Bucket(stack, "Open", { enforceSSL: false });
    expect(() => app.synth()).toThrow(/S3 Bucket has server access logs disabled/);
  });
});
