# Buckets: the lake (unless an existing one is given), snapshots, Athena results and the package artifacts.
# All: KMS encryption with the stack's key, versioning, public access blocked, TLS only, owner-enforced objects.

resource "aws_s3_bucket" "this" {
  for_each = local.buckets
  #checkov:skip=CKV_AWS_18:Server access logging needs a separate log bucket per account; CloudTrail data events are the operator's account-wide choice.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice: the lake is the operator's source data, snapshots and results are recomputable.
  #checkov:skip=CKV2_AWS_62:Nothing in the engine consumes S3 event notifications; the refresh is scheduled.

  bucket        = each.value
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["${local.s3_arn}${each.value.bucket}", "${local.s3_arn}${each.value.bucket}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Every bucket: old object versions and abandoned multipart uploads do not pile up. Athena results expire.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  # Retention backstops, matching the refresh's own rules (which act first): order partitions as old as
  # lake_retention_days (an object is never older than the day it holds), snapshot versions and score partitions
  # a week past snapshot_retention_days (the refresh never purges the live version; this margin keeps a
  # stalled refresh from losing it at once).
  dynamic "rule" {
    for_each = each.key == "lake" && var.lake_retention_days > 0 ? [1] : []
    content {
      id     = "expire-old-order-lines"
      status = "Enabled"
      filter {
        prefix = "${var.lake_prefix}/orders/"
      }
      expiration {
        days = var.lake_retention_days
      }
    }
  }

  # The optional reviews and engagement tables (athena/contract.json) age out with the orders.
  dynamic "rule" {
    for_each = each.key == "lake" && var.lake_retention_days > 0 ? toset(["reviews", "engagement"]) : toset([])
    content {
      id     = "expire-old-${rule.value}"
      status = "Enabled"
      filter {
        prefix = "${var.lake_prefix}/${rule.value}/"
      }
      expiration {
        days = var.lake_retention_days
      }
    }
  }

  dynamic "rule" {
    for_each = each.key == "snapshots" && var.snapshot_retention_days > 0 ? toset(["versions", "scores"]) : toset([])
    content {
      id     = "expire-old-snapshot-${rule.value}"
      status = "Enabled"
      filter {
        prefix = "${var.snapshots_prefix}/${rule.value}/"
      }
      expiration {
        days = var.snapshot_retention_days + local.snapshot_expiry_grace_days
      }
    }
  }

  dynamic "rule" {
    for_each = each.key == "athena_results" ? [1] : []
    content {
      id     = "expire-athena-results"
      status = "Enabled"
      filter {
        prefix = "${local.athena_results_prefix}/"
      }
      expiration {
        days = var.athena_results_expiration_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# The packages, when Terraform uploads them (package_s3_bucket unset): one object per function. Lambda reads them
# with the deployer's rights.
resource "aws_s3_object" "package" {
  for_each = local.upload_packages ? local.packages : {}

  bucket      = aws_s3_bucket.this["artifacts"].id
  key         = each.value.key
  source      = each.value.file
  source_hash = local.package_hash[each.key]
  kms_key_id  = local.kms_key_arn

  depends_on = [aws_s3_bucket_versioning.this, aws_s3_bucket_server_side_encryption_configuration.this]
}
