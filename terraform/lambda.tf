# Two functions, each from its own package (build.sh -> dist/api.zip: no ML library; dist/refresh.zip: the ML
# stack). Both run handler.lambda_handler, which dispatches on the event's shape: API Gateway events to the API,
# scheduled events to the refresh.

locals {
  insights_extra = { for k, v in var.insights_settings : "INSIGHTS_${upper(k)}" => v }

  common_environment = {
    INSIGHTS_SNAPSHOTS                  = local.snapshots_uri
    INSIGHTS_LOG_LEVEL                  = var.log_level
    POWERTOOLS_LOG_LEVEL                = var.log_level
    POWERTOOLS_METRICS_NAMESPACE        = "DemandInsights"
    INSIGHTS_PSEUDONYMIZE               = var.pseudonymize ? "true" : "false"
    INSIGHTS_PSEUDONYM_SECRET_PARAMETER = var.pseudonym_secret_parameter
    INSIGHTS_PSEUDONYM_SECRET_ARN       = var.pseudonym_secret_arn
  }

  api_environment = { for k, v in merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "demand-insights-api"
    # api.zip carries no X-Ray SDK (requirements-api.txt): the handler builds no Tracer, and X-Ray (Active)
    # still records each invocation and its initialization; the refresh function keeps its Tracer.
    POWERTOOLS_TRACE_DISABLED     = "true"
    INSIGHTS_JWT_ISSUER           = var.jwt_issuer
    INSIGHTS_JWT_AUDIENCE         = var.jwt_audience
    INSIGHTS_JWT_ALGORITHMS       = var.jwt_algorithms
    INSIGHTS_JWT_JWKS_URL         = var.jwt_jwks_url
    INSIGHTS_JWT_SECRET_PARAMETER = var.jwt_secret_parameter
    INSIGHTS_JWT_SECRET_ARN       = var.jwt_secret_arn
  }, local.insights_extra) : k => v if v != null }

  refresh_environment = { for k, v in merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME          = "demand-insights-refresh"
    INSIGHTS_LAKE                    = local.lake_uri
    INSIGHTS_ATHENA_DATABASE         = aws_glue_catalog_database.this.name
    INSIGHTS_ATHENA_WORKGROUP        = aws_athena_workgroup.this.name
    INSIGHTS_ATHENA_OUTPUT_LOCATION  = local.athena_output
    INSIGHTS_LAKE_RETENTION_DAYS     = tostring(var.lake_retention_days)
    INSIGHTS_SNAPSHOT_RETENTION_DAYS = tostring(var.snapshot_retention_days)
  }, local.insights_extra) : k => v if v != null }

  functions = {
    api = {
      name        = local.api_function_name
      description = "Demand Insights API: answers from the latest snapshot"
      memory      = var.api_memory_mb
      tmp_mb      = var.api_ephemeral_storage_mb
      timeout     = var.api_timeout_s
      reserved    = var.api_reserved_concurrency
      role        = aws_iam_role.api.arn
      environment = local.api_environment
      log_group   = local.api_log_group
    }
    refresh = {
      name        = local.refresh_function_name
      description = "Demand Insights refresh: Athena -> train or rescore -> snapshot"
      memory      = var.refresh_memory_mb
      tmp_mb      = var.refresh_ephemeral_storage_mb
      timeout     = var.refresh_timeout_s
      reserved    = var.sharded_refresh ? var.refresh_map_max_concurrency + 1 : var.refresh_reserved_concurrency
      role        = aws_iam_role.refresh.arn
      environment = local.refresh_environment
      log_group   = local.refresh_log_group
    }
  }
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = each.value.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_117:No VPC: the functions reach only S3, Athena, Glue and SSM over AWS endpoints; a VPC would add NAT or endpoints and cold-start cost for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the operator owns; the package's integrity is pinned by source_code_hash and S3 object version.

  function_name                  = each.value.name
  description                    = each.value.description
  role                           = each.value.role
  runtime                        = "python3.12"
  handler                        = "handler.lambda_handler"
  architectures                  = [var.lambda_architecture]
  memory_size                    = each.value.memory
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved

  ephemeral_storage {
    size = each.value.tmp_mb
  }

  # Each function its own artifact (local.packages has the same keys as local.functions).
  s3_bucket         = local.package_bucket
  s3_key            = local.packages[each.key].key
  s3_object_version = local.upload_packages ? aws_s3_object.package[each.key].version_id : local.packages[each.key].version
  source_code_hash  = local.package_hash[each.key]

  kms_key_arn = local.kms_key_arn
  environment {
    variables = each.value.environment
  }

  tracing_config {
    mode = "Active"
  }

  # JSON log format: the platform's REPORT record becomes JSON, so a metric filter can read maxMemoryUsedMB.
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = var.log_level
    system_log_level      = "INFO"
  }

  # The api function is invoked synchronously (API Gateway): a DLQ only applies to asynchronous events.
  dynamic "dead_letter_config" {
    for_each = each.key == "refresh" ? [1] : []
    content {
      target_arn = aws_sqs_queue.dlq.arn
    }
  }

  lifecycle {
    precondition {
      condition     = var.api_package_s3_key != var.refresh_package_s3_key
      error_message = "api_package_s3_key and refresh_package_s3_key must differ: each function has its own package."
    }
  }

  depends_on = [aws_iam_role_policy.api, aws_iam_role_policy.refresh, aws_cloudwatch_log_group.function]
}

# Scheduled events arrive asynchronously. One retry after a failed run (the refresh is idempotent per as_of,
# and a failure never publishes); after that the event goes to the DLQ and the failed-refresh alarm fires.
resource "aws_lambda_function_event_invoke_config" "refresh" {
  function_name                = aws_lambda_function.this["refresh"].function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 21600
}
