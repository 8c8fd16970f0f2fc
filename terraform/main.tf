# Demand Insights Engine: the AWS stack.
#
#   storefront --JWT--> API Gateway HTTP API --> Lambda api ----reads----> S3 snapshots/<prefix>/{latest,versions/*}
#   EventBridge Scheduler --> Lambda refresh --SQL--> Athena workgroup --> S3 lake (Glue tables over Parquet)
#                                     \--writes--> S3 snapshots/<prefix>/** (versions, latest, scores for Glue)
#
# ARNs are built from names (not read back from resources) so that the IAM policies are known at plan time
# and `terraform test` can assert exactly which ARNs each role may touch.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The data contract: the same file the engines, the importer and the tests read.
  contract = jsondecode(file("${path.module}/../athena/contract.json"))

  # --- Buckets ---
  bucket_suffix = "${local.account_id}-${local.region}"
  create_lake   = var.existing_lake_bucket == null
  all_buckets = {
    lake           = "${var.name_prefix}-lake-${local.bucket_suffix}"
    snapshots      = "${var.name_prefix}-snapshots-${local.bucket_suffix}"
    athena_results = "${var.name_prefix}-athena-results-${local.bucket_suffix}"
    artifacts      = "${var.name_prefix}-artifacts-${local.bucket_suffix}"
  }
  buckets               = { for k, v in local.all_buckets : k => v if k != "lake" || local.create_lake }
  lake_bucket           = local.create_lake ? local.buckets.lake : var.existing_lake_bucket
  snapshots_bucket      = local.buckets.snapshots
  athena_results_bucket = local.buckets.athena_results
  artifacts_bucket      = local.buckets.artifacts
  s3_arn                = "arn:${local.partition}:s3:::"
  lake_bucket_arn       = "${local.s3_arn}${local.lake_bucket}"
  snapshots_bucket_arn  = "${local.s3_arn}${local.snapshots_bucket}"
  athena_bucket_arn     = "${local.s3_arn}${local.athena_results_bucket}"

  athena_results_prefix = "athena-results"
  # the snapshots bucket's lifecycle expires versions and scores this many days after snapshot_retention_days
  snapshot_expiry_grace_days = 7
  lake_uri                   = "s3://${local.lake_bucket}/${var.lake_prefix}"
  snapshots_uri              = "s3://${local.snapshots_bucket}/${var.snapshots_prefix}"
  athena_output              = "s3://${local.athena_results_bucket}/${local.athena_results_prefix}/"

  # --- Functions ---
  api_function_name     = "${var.name_prefix}-api"
  refresh_function_name = "${var.name_prefix}-refresh"
  lambda_arn            = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:"
  api_function_arn      = "${local.lambda_arn}${local.api_function_name}"
  refresh_function_arn  = "${local.lambda_arn}${local.refresh_function_name}"
  log_group_arn         = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:"

  # --- Athena and Glue ---
  workgroup_name = "${var.name_prefix}-wg"
  workgroup_arn  = "arn:${local.partition}:athena:${local.region}:${local.account_id}:workgroup/${local.workgroup_name}"
  glue_arn       = "arn:${local.partition}:glue:${local.region}:${local.account_id}"
  glue_tables    = concat(keys(local.contract.lake_tables), keys(local.contract.score_tables))

  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.main[0].arn

  # --- The packages, one per function: uploaded by Terraform to the artifacts bucket, or already in the
  # operator's bucket. The keys are the functions' (api, refresh).
  upload_packages = var.package_s3_bucket == null
  package_bucket  = local.upload_packages ? local.artifacts_bucket : var.package_s3_bucket
  packages = {
    api     = { file = var.api_package_file, key = var.api_package_s3_key, version = var.api_package_s3_object_version }
    refresh = { file = var.refresh_package_file, key = var.refresh_package_s3_key, version = var.refresh_package_s3_object_version }
  }
  package_hash = { for k, p in local.packages : k => local.upload_packages ? filebase64sha256(p.file) : null }
}

# One customer-managed key for the buckets (the lake and snapshots hold customer e-mails), the log groups,
# the dead-letter queue, the alarm topic and the functions' environments.
resource "aws_kms_key" "main" {
  count = var.kms_key_arn == null ? 1 : 0

  description             = "${var.name_prefix}: data, logs, queue, topic and function environments"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheStacksLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "${local.log_group_arn}*${var.name_prefix}*" }
        }
      },
      {
        Sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })
}

resource "aws_kms_alias" "main" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.main[0].key_id
}
