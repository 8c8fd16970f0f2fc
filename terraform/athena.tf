# The workgroup the refresh queries through: result location and encryption enforced (clients cannot
# override them), a per-query bytes-scanned cutoff so a bad query cannot scan the whole lake at will.

resource "aws_athena_workgroup" "this" {
  name          = local.workgroup_name
  description   = "Demand Insights Engine refresh queries"
  state         = "ENABLED"
  force_destroy = false

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "AUTO"
    }

    result_configuration {
      output_location       = local.athena_output
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = local.kms_key_arn
      }
    }
  }
}
