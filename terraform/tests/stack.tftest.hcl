# Offline tests of the stack's wiring: `terraform test` with a mocked AWS provider (no credentials, no calls).
# Names and ARNs are deterministic (built from the account, region and name_prefix), so IAM statements can be
# compared with the exact ARNs each role should name.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = data.aws_region.current
    values = { name = "eu-west-1" }
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }

  # The provider still validates ARNs during a mocked apply: give ARN attributes ARN-shaped mock values.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:demand-insights-refresh-dlq" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:demand-insights-alarms" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock/invocations"
    }
  }
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234"
      api_endpoint  = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com"
    }
  }
}

# Distinct ARNs for the two functions, so a schedule wired to the api function would fail the test.
override_resource {
  target = aws_lambda_function.this["refresh"]
  values = {
    arn        = "arn:aws:lambda:eu-west-1:123456789012:function:demand-insights-refresh"
    invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:demand-insights-refresh/invocations"
  }
}

variables {
  aws_region           = "eu-west-1"
  api_package_file     = "tests/fixtures/fake-api.zip"
  refresh_package_file = "tests/fixtures/fake-refresh.zip"
}

run "plan_lists_every_resource" {
  command = plan

  assert {
    condition     = toset(keys(aws_s3_bucket.this)) == toset(["lake", "snapshots", "athena_results", "artifacts"])
    error_message = "Expected the lake, snapshots, Athena results and artifacts buckets."
  }
  assert {
    condition = alltrue([for k in keys(aws_s3_bucket.this) : (
      aws_s3_bucket_versioning.this[k].versioning_configuration[0].status == "Enabled" &&
      aws_s3_bucket_public_access_block.this[k].block_public_acls &&
      aws_s3_bucket_public_access_block.this[k].block_public_policy &&
      aws_s3_bucket_public_access_block.this[k].ignore_public_acls &&
      aws_s3_bucket_public_access_block.this[k].restrict_public_buckets &&
      one(aws_s3_bucket_server_side_encryption_configuration.this[k].rule[*].apply_server_side_encryption_by_default[0].sse_algorithm) == "aws:kms"
    )])
    error_message = "Every bucket must be versioned, KMS-encrypted and have all public access blocked."
  }
  assert {
    condition = one([
      for r in aws_s3_bucket_lifecycle_configuration.this["athena_results"].rule : r.expiration[0].days
      if r.id == "expire-athena-results"
    ]) == 7
    error_message = "Athena results must expire (7 days by default)."
  }
  assert {
    condition     = toset(keys(aws_glue_catalog_table.contract)) == toset(["orders", "customers", "reviews", "engagement", "customer_scores", "product_forecasts"])
    error_message = "Expected Glue tables orders, customers, reviews, engagement, customer_scores and product_forecasts."
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration && aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 107374182400
    error_message = "The workgroup must enforce its configuration and cut queries off at 100 GiB scanned."
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://demand-insights-athena-results-123456789012-eu-west-1/athena-results/"
    error_message = "The workgroup must write results to the Athena results bucket."
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS"
    error_message = "Athena results must be KMS-encrypted."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.this)) == toset(["api", "refresh"]) && toset(keys(aws_s3_object.package)) == toset(["api", "refresh"])
    error_message = "Expected the api and refresh functions, each with its own uploaded package."
  }
  assert {
    condition = (
      aws_s3_object.package["api"].key == "lambda/api.zip" && aws_s3_object.package["api"].source == "tests/fixtures/fake-api.zip" &&
      aws_s3_object.package["refresh"].key == "lambda/refresh.zip" && aws_s3_object.package["refresh"].source == "tests/fixtures/fake-refresh.zip" &&
      aws_s3_object.package["api"].source_hash == filebase64sha256("tests/fixtures/fake-api.zip") &&
      aws_s3_object.package["refresh"].source_hash == filebase64sha256("tests/fixtures/fake-refresh.zip")
    )
    error_message = "Each package is uploaded from its own file to its own key of the artifacts bucket."
  }
  assert {
    # the exact set is pinned by every_route_reaches_the_api_function
    condition     = length(aws_apigatewayv2_route.this) >= 10 && aws_apigatewayv2_api.this.protocol_type == "HTTP"
    error_message = "Expected an HTTP API with at least the ten original routes."
  }
  assert {
    condition     = toset(keys(aws_scheduler_schedule.this)) == toset(["refresh", "retrain"])
    error_message = "Expected the daily refresh and the monthly retrain schedules."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.metric) == 9 && length(aws_cloudwatch_metric_alarm.error_rate) == 3
    error_message = "Expected 9 metric alarms (snapshot-degraded included) and 3 error-rate alarms."
  }
  assert {
    condition     = length(aws_kms_key.main) == 1 && aws_kms_key.main[0].enable_key_rotation
    error_message = "Expected one customer-managed key with rotation."
  }
  assert {
    condition     = aws_sqs_queue.dlq.name == "demand-insights-refresh-dlq" && aws_sns_topic.alarms.name == "demand-insights-alarms"
    error_message = "Expected the dead-letter queue and the alarm topic."
  }
  assert {
    condition     = length(aws_apigatewayv2_authorizer.jwt) == 0
    error_message = "No gateway JWT authorizer without an OIDC issuer."
  }
}

run "functions_are_configured_as_designed" {
  command = apply

  assert {
    condition = alltrue([for k, f in aws_lambda_function.this : (
      f.runtime == "python3.12" && f.handler == "handler.lambda_handler" && f.architectures == tolist(["x86_64"]) &&
      f.tracing_config[0].mode == "Active" && f.s3_bucket == "demand-insights-artifacts-123456789012-eu-west-1" &&
      f.s3_key == "lambda/${k}.zip" && f.s3_object_version == aws_s3_object.package[k].version_id &&
      f.source_code_hash == filebase64sha256("tests/fixtures/fake-${k}.zip")
    )])
    error_message = "Both functions: python3.12, handler.lambda_handler, x86_64, X-Ray active, each its own package from S3 (api.zip, refresh.zip)."
  }
  assert {
    condition     = aws_lambda_function.this["api"].source_code_hash != aws_lambda_function.this["refresh"].source_code_hash
    error_message = "The api and refresh functions must not share a package."
  }
  assert {
    condition = (
      aws_lambda_function.this["api"].memory_size == 1024 && aws_lambda_function.this["api"].timeout == 29 &&
      aws_lambda_function.this["api"].reserved_concurrent_executions == 50 &&
      aws_lambda_function.this["api"].ephemeral_storage[0].size == 1024
    )
    error_message = "api: 1024 MB, 29 s, reserved concurrency from the variable, 1 GB of /tmp for the snapshot."
  }
  assert {
    condition = (
      aws_lambda_function.this["refresh"].memory_size == 3008 && aws_lambda_function.this["refresh"].timeout == 900 &&
      aws_lambda_function.this["refresh"].reserved_concurrent_executions == 1 &&
      aws_lambda_function.this["refresh"].ephemeral_storage[0].size == 4096 &&
      aws_lambda_function.this["refresh"].dead_letter_config[0].target_arn == aws_sqs_queue.dlq.arn
    )
    error_message = "refresh: 3008 MB, 900 s, one at a time, failed async events to the DLQ."
  }
  assert {
    condition = (
      aws_lambda_function.this["api"].environment[0].variables["INSIGHTS_SNAPSHOTS"] == "s3://demand-insights-snapshots-123456789012-eu-west-1/snapshots" &&
      aws_lambda_function.this["api"].environment[0].variables["POWERTOOLS_METRICS_NAMESPACE"] == "DemandInsights" &&
      aws_lambda_function.this["api"].environment[0].variables["INSIGHTS_JWT_ISSUER"] == "demand-insights" &&
      aws_lambda_function.this["api"].environment[0].variables["INSIGHTS_JWT_ALGORITHMS"] == "RS256" &&
      aws_lambda_function.this["api"].environment[0].variables["POWERTOOLS_TRACE_DISABLED"] == "true" &&
      !contains(keys(aws_lambda_function.this["refresh"].environment[0].variables), "POWERTOOLS_TRACE_DISABLED") &&
      !contains(keys(aws_lambda_function.this["api"].environment[0].variables), "INSIGHTS_LAKE") &&
      !contains(keys(aws_lambda_function.this["api"].environment[0].variables), "INSIGHTS_JWT_JWKS_URL")
    )
    error_message = "api environment: snapshots location, metrics namespace, JWT settings, no Tracer (api.zip has no X-Ray SDK), no lake, no unset values."
  }
  assert {
    condition = (
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_LAKE"] == "s3://demand-insights-lake-123456789012-eu-west-1/lake" &&
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_SNAPSHOTS"] == "s3://demand-insights-snapshots-123456789012-eu-west-1/snapshots" &&
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_ATHENA_DATABASE"] == "demand_insights_db" &&
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_ATHENA_WORKGROUP"] == aws_athena_workgroup.this.name &&
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_ATHENA_OUTPUT_LOCATION"] == aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location
    )
    error_message = "refresh environment: lake, snapshots, Athena database, workgroup and its output location."
  }
  assert {
    condition = alltrue([for k, f in aws_lambda_function.this : (
      f.logging_config[0].log_group == aws_cloudwatch_log_group.function[k].name &&
      aws_cloudwatch_log_group.function[k].name == "/aws/lambda/${f.function_name}" &&
      aws_cloudwatch_log_group.function[k].retention_in_days == 365 && f.logging_config[0].log_format == "JSON"
    )])
    error_message = "Each function logs (JSON) to its own log group with a retention."
  }
  assert {
    condition = (
      aws_lambda_function_event_invoke_config.refresh.function_name == aws_lambda_function.this["refresh"].function_name &&
      aws_lambda_function_event_invoke_config.refresh.maximum_retry_attempts == 1
    )
    error_message = "A failed scheduled refresh is retried once."
  }
}

run "every_route_reaches_the_api_function" {
  command = apply

  assert {
    condition = toset(keys(aws_apigatewayv2_route.this)) == toset([
      "GET /demand-insights/segments", "POST /demand-insights/forecast", "POST /demand-insights/price-elasticity",
      "POST /demand-insights/price-optimization", "POST /demand-insights/clv", "POST /demand-insights/churn",
      "GET /demand-insights/at-risk-customers", "GET /demand-insights/quality", "GET /demand-insights/health",
      "GET /demand-insights/openapi.json", "GET /demand-insights/overview", "GET /demand-insights/dashboard",
      "GET /demand-insights/dashboard/dashboard.js", "GET /demand-insights/dashboard/views.js",
      "GET /demand-insights/dashboard/dashboard.css", "GET /demand-insights/dashboard/uPlot.iife.min.js",
      "GET /demand-insights/dashboard/uPlot.min.css", "GET /demand-insights/dashboard/uPlot.LICENSE",
      "GET /demand-insights/customers/{customer_id}", "POST /demand-insights/recommendations",
      "POST /demand-insights/mcp", "POST /demand-insights/experiments/sample-size",
      "POST /demand-insights/experiments/analyze", "GET /demand-insights/segments/traits",
      "GET /demand-insights/churn-outlook", "GET /demand-insights/cohorts",
      "GET /demand-insights/growth-projection", "GET /demand-insights/segments/transitions",
      "GET /demand-insights/exports/customer-scores",
    ])
    error_message = "The routes must be exactly those of the API."
  }
  assert {
    condition = alltrue([for r in aws_apigatewayv2_route.this : (
      r.target == "integrations/${aws_apigatewayv2_integration.api.id}" && r.api_id == aws_apigatewayv2_api.this.id
    )])
    error_message = "Every route must target the api integration."
  }
  assert {
    condition = (
      aws_apigatewayv2_integration.api.integration_uri == aws_lambda_function.this["api"].invoke_arn &&
      aws_apigatewayv2_integration.api.integration_type == "AWS_PROXY" &&
      aws_apigatewayv2_integration.api.payload_format_version == "2.0"
    )
    error_message = "The integration must proxy to the api function with payload 2.0."
  }
  assert {
    condition = (
      aws_lambda_permission.api_gateway.function_name == aws_lambda_function.this["api"].function_name &&
      aws_lambda_permission.api_gateway.principal == "apigateway.amazonaws.com" &&
      aws_lambda_permission.api_gateway.source_arn == "${aws_apigatewayv2_api.this.execution_arn}/*/*/demand-insights/*"
    )
    error_message = "API Gateway may invoke the api function for this API's routes only."
  }
  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.this : r.authorization_type == "NONE"])
    error_message = "Without an OIDC issuer the function alone verifies tokens."
  }
  assert {
    condition = (
      aws_apigatewayv2_stage.default.default_route_settings[0].throttling_rate_limit == 100 &&
      aws_apigatewayv2_stage.default.default_route_settings[0].throttling_burst_limit == 200 &&
      aws_apigatewayv2_stage.default.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access.arn &&
      aws_apigatewayv2_stage.default.auto_deploy
    )
    error_message = "The stage must throttle and write access logs."
  }
  assert {
    condition     = contains(keys(jsondecode(aws_apigatewayv2_stage.default.access_log_settings[0].format)), "routeKey")
    error_message = "Access logs must record the route."
  }
}

run "schedules_reach_the_refresh_function" {
  command = apply

  assert {
    condition = alltrue([for s in aws_scheduler_schedule.this : (
      s.target[0].arn == aws_lambda_function.this["refresh"].arn && s.target[0].role_arn == aws_iam_role.scheduler.arn &&
      s.target[0].dead_letter_config[0].arn == aws_sqs_queue.dlq.arn &&
      s.target[0].retry_policy[0].maximum_retry_attempts == 3 &&
      s.target[0].retry_policy[0].maximum_event_age_in_seconds == 3600 &&
      s.flexible_time_window[0].mode == "OFF"
    )])
    error_message = "Both schedules: the refresh function, the scheduler role, a retry policy and the DLQ."
  }
  assert {
    condition = (
      jsondecode(aws_scheduler_schedule.this["refresh"].target[0].input) == { action = "refresh", scheduled_time = "<aws.scheduler.scheduled-time>" } &&
      jsondecode(aws_scheduler_schedule.this["retrain"].target[0].input) == { action = "retrain", scheduled_time = "<aws.scheduler.scheduled-time>" }
    )
    error_message = "The daily schedule sends {action: refresh}, the monthly one {action: retrain}, with the scheduled time."
  }
  assert {
    condition = (
      aws_scheduler_schedule.this["refresh"].schedule_expression == "cron(0 3 2-31 * ? *)" &&
      aws_scheduler_schedule.this["retrain"].schedule_expression == "cron(0 3 1 * ? *)"
    )
    error_message = "Daily refresh on days 2-31, monthly retrain on day 1, at the same hour: one run a day."
  }
}

run "iam_statements_name_only_the_intended_arns" {
  command = apply

  # api: the published snapshots (latest pointer and versions), the score copies it presigns for the export route,
  # nothing of the lake, Athena or Glue.
  assert {
    condition = (
      toset(flatten([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Resource])) == toset([
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/demand-insights-api:*",
        "*",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1/snapshots/latest",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1/snapshots/versions/*",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1/snapshots/scores/customer_scores/*",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1/snapshots/scores/exports/*",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1",
        aws_kms_key.main[0].arn,
      ])
    )
    error_message = "The api role must name only its log group, the published snapshots, the score exports and the key."
  }
  assert {
    condition = (
      toset(flatten([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Action])) ==
      toset(["logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "s3:GetObject", "s3:ListBucket", "kms:Decrypt"])
    )
    error_message = "The api role may only read: no s3:PutObject, no Athena, no Glue."
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : (
      s.Resource != tolist(["*"]) || toset(s.Action) == toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    )])
    error_message = "Only X-Ray (which has no resource-level permissions) may use Resource *."
  }
  # refresh: the lake prefix (read), snapshots prefix (read/write), results prefix, the workgroup, the lake tables.
  assert {
    condition = (
      toset(flatten([for s in jsondecode(aws_iam_role_policy.refresh.policy).Statement : s.Resource])) == toset([
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/demand-insights-refresh:*",
        "*",
        "arn:aws:s3:::demand-insights-lake-123456789012-eu-west-1/lake/*",
        "arn:aws:s3:::demand-insights-lake-123456789012-eu-west-1",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1/snapshots/*",
        "arn:aws:s3:::demand-insights-snapshots-123456789012-eu-west-1",
        "arn:aws:s3:::demand-insights-athena-results-123456789012-eu-west-1/athena-results/*",
        "arn:aws:s3:::demand-insights-athena-results-123456789012-eu-west-1",
        "arn:aws:athena:eu-west-1:123456789012:workgroup/demand-insights-wg",
        "arn:aws:glue:eu-west-1:123456789012:catalog",
        "arn:aws:glue:eu-west-1:123456789012:database/demand_insights_db",
        "arn:aws:glue:eu-west-1:123456789012:table/demand_insights_db/orders",
        "arn:aws:glue:eu-west-1:123456789012:table/demand_insights_db/customers",
        "arn:aws:glue:eu-west-1:123456789012:table/demand_insights_db/reviews",
        "arn:aws:glue:eu-west-1:123456789012:table/demand_insights_db/engagement",
        aws_kms_key.main[0].arn,
        "arn:aws:sqs:eu-west-1:123456789012:demand-insights-refresh-dlq",
      ])
    )
    error_message = "The refresh role must name only the lake, snapshots and results prefixes, the workgroup, the lake tables, the key and the DLQ."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.refresh.policy).Statement : s.Action if s.Sid == "ReadLake"
    ]) == ["s3:GetObject"]
    error_message = "ReadLake only reads the lake (erasure and retention write through EraseAndExpireLake)."
  }
  assert {
    condition = alltrue([for fn, policy in { api = aws_iam_role_policy.api, refresh = aws_iam_role_policy.refresh } : one([
      for s in jsondecode(policy.policy).Statement : s.Condition.StringEquals["kms:EncryptionContext:aws:lambda:FunctionArn"]
      if s.Sid == "DecryptOwnEnvironment"
    ]) == "arn:aws:lambda:eu-west-1:123456789012:function:demand-insights-${fn}"])
    error_message = "Each function may decrypt only its own environment."
  }
  # scheduler: invoke the refresh function (and its versions/aliases), send to the DLQ.
  assert {
    condition = (
      toset(flatten([for s in jsondecode(aws_iam_role_policy.scheduler.policy).Statement : s.Resource])) == toset([
        "arn:aws:lambda:eu-west-1:123456789012:function:${aws_lambda_function.this["refresh"].function_name}",
        "arn:aws:lambda:eu-west-1:123456789012:function:${aws_lambda_function.this["refresh"].function_name}:*",
        "arn:aws:sqs:eu-west-1:123456789012:${aws_sqs_queue.dlq.name}",
        aws_kms_key.main[0].arn,
      ])
    )
    error_message = "The scheduler role may invoke the refresh function only."
  }
  assert {
    condition = (
      jsondecode(aws_iam_role.scheduler.assume_role_policy).Statement[0].Principal.Service == "scheduler.amazonaws.com" &&
      alltrue([for r in [aws_iam_role.api, aws_iam_role.refresh] : jsondecode(r.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"])
    )
    error_message = "Roles are assumable by their service only."
  }
  assert {
    condition = (
      aws_lambda_function.this["api"].role == aws_iam_role.api.arn && aws_lambda_function.this["refresh"].role == aws_iam_role.refresh.arn &&
      aws_iam_role_policy.api.role == aws_iam_role.api.id && aws_iam_role_policy.refresh.role == aws_iam_role.refresh.id
    )
    error_message = "Each function runs with its own role."
  }
}

run "alarms_have_the_recommended_thresholds" {
  command = apply

  assert {
    condition = alltrue([for k in ["api-error-rate", "refresh-error-rate", "api-5xx-rate"] : (
      aws_cloudwatch_metric_alarm.error_rate[k].threshold == 1 &&
      aws_cloudwatch_metric_alarm.error_rate[k].comparison_operator == "GreaterThanThreshold"
    )])
    error_message = "Error rate above 1%."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["refresh-duration"].threshold == 240000 &&
      aws_cloudwatch_metric_alarm.metric["refresh-duration"].metric_name == "Duration" &&
      aws_cloudwatch_metric_alarm.metric["refresh-duration"].dimensions.FunctionName == aws_lambda_function.this["refresh"].function_name
    )
    error_message = "Refresh duration above 4 minutes."
  }
  assert {
    condition = alltrue([for fn in ["api", "refresh"] : (
      aws_cloudwatch_metric_alarm.metric["${fn}-throttles"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.metric["${fn}-throttles"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.metric["${fn}-throttles"].dimensions.FunctionName == aws_lambda_function.this[fn].function_name
    )])
    error_message = "Throttles above 0 on both functions."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["api-memory"].threshold == 921 &&
      aws_cloudwatch_metric_alarm.metric["refresh-memory"].threshold == 2707 &&
      aws_cloudwatch_metric_alarm.metric["refresh-memory"].metric_name == aws_cloudwatch_log_metric_filter.max_memory["refresh"].metric_transformation[0].name &&
      aws_cloudwatch_log_metric_filter.max_memory["refresh"].log_group_name == aws_cloudwatch_log_group.function["refresh"].name &&
      aws_cloudwatch_log_metric_filter.max_memory["refresh"].metric_transformation[0].value == "$.record.metrics.maxMemoryUsedMB"
    )
    error_message = "Memory above 90% of each function's size, read from the REPORT records."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["refresh-failed"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.metric["refresh-failed"].threshold == 1 &&
      aws_cloudwatch_metric_alarm.metric["refresh-failed"].comparison_operator == "GreaterThanOrEqualToThreshold" &&
      aws_cloudwatch_metric_alarm.metric["refresh-dlq"].dimensions.QueueName == aws_sqs_queue.dlq.name
    )
    error_message = "A failed refresh (an error, or an event in the DLQ) alarms."
  }
  assert {
    condition = alltrue(concat(
      [for a in aws_cloudwatch_metric_alarm.metric : a.alarm_actions == toset([aws_sns_topic.alarms.arn])],
      [for a in aws_cloudwatch_metric_alarm.error_rate : a.alarm_actions == toset([aws_sns_topic.alarms.arn])],
    ))
    error_message = "Every alarm notifies the SNS topic."
  }
}

run "an_oidc_issuer_puts_a_jwt_authorizer_in_front" {
  command = apply

  variables {
    jwt_issuer          = "https://idp.example.com/"
    jwt_jwks_url        = "https://idp.example.com/.well-known/jwks.json"
    jwt_oidc_authorizer = true
  }

  assert {
    condition = (
      aws_apigatewayv2_authorizer.jwt[0].authorizer_type == "JWT" &&
      aws_apigatewayv2_authorizer.jwt[0].jwt_configuration[0].issuer == "https://idp.example.com/" &&
      aws_apigatewayv2_authorizer.jwt[0].jwt_configuration[0].audience == toset(["demand-insights"])
    )
    error_message = "The JWT authorizer checks the issuer and the audience."
  }
  assert {
    condition = alltrue([for k, r in aws_apigatewayv2_route.this : (
      strcontains(k, "/health") || strcontains(k, "/openapi.json") || strcontains(k, "/dashboard")
      ? r.authorization_type == "NONE"
      : r.authorization_type == "JWT" && r.authorizer_id == aws_apigatewayv2_authorizer.jwt[0].id && r.authorization_scopes == toset(["insights:read"])
    )])
    error_message = "Insight routes need the JWT authorizer; health, openapi.json and the dashboard's files stay open."
  }
  assert {
    condition     = aws_lambda_function.this["api"].environment[0].variables["INSIGHTS_JWT_JWKS_URL"] == "https://idp.example.com/.well-known/jwks.json"
    error_message = "The function gets the JWKS URL to verify tokens itself."
  }
}

run "an_existing_lake_bucket_is_only_read_and_erased_in_its_prefix" {
  command = apply

  variables {
    existing_lake_bucket = "acme-datalake"
    lake_prefix          = "exports/orders-v1"
  }

  assert {
    condition     = !contains(keys(aws_s3_bucket.this), "lake")
    error_message = "No lake bucket is created when one is given."
  }
  assert {
    condition = (
      aws_glue_catalog_table.contract["orders"].storage_descriptor[0].location == "s3://acme-datalake/exports/orders-v1/orders/" &&
      aws_glue_catalog_table.contract["orders"].parameters["storage.location.template"] == "s3://acme-datalake/exports/orders-v1/orders/order_date=$${order_date}/" &&
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_LAKE"] == "s3://acme-datalake/exports/orders-v1"
    )
    error_message = "Glue tables and the refresh point at the given lake."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.refresh.policy).Statement : s.Resource if s.Sid == "ReadLake"
    ]) == ["arn:aws:s3:::acme-datalake/exports/orders-v1/*"]
    error_message = "The refresh reads the given lake prefix only."
  }
}

run "packages_uploaded_by_ci_are_used_as_is" {
  command = apply

  variables {
    api_package_file                  = "does-not-exist.zip"
    refresh_package_file              = "does-not-exist-either.zip"
    package_s3_bucket                 = "acme-ci-artifacts"
    api_package_s3_key                = "demand-insights/1.2.3/api.zip"
    refresh_package_s3_key            = "demand-insights/1.2.3/refresh.zip"
    api_package_s3_object_version     = "v3"
    refresh_package_s3_object_version = "v7"
  }

  assert {
    condition = length(aws_s3_object.package) == 0 && alltrue([for f in aws_lambda_function.this : f.s3_bucket == "acme-ci-artifacts"]) && (
      aws_lambda_function.this["api"].s3_key == "demand-insights/1.2.3/api.zip" && aws_lambda_function.this["api"].s3_object_version == "v3" &&
      aws_lambda_function.this["refresh"].s3_key == "demand-insights/1.2.3/refresh.zip" && aws_lambda_function.this["refresh"].s3_object_version == "v7"
    )
    error_message = "With package_s3_bucket set, Terraform uploads nothing and each function takes its own object."
  }
}

run "the_two_packages_cannot_share_a_key" {
  command = plan

  variables {
    refresh_package_s3_key = "lambda/api.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

# A 21-character prefix would make "<prefix>-athena-results-<account>-ap-southeast-3" longer than S3's 63.
run "unsafe_settings_are_refused" {
  command = plan

  variables {
    api_timeout_s  = 60
    jwt_algorithms = "none"
    name_prefix    = "a-prefix-too-long-for-s3"
  }

  expect_failures = [var.api_timeout_s, var.jwt_algorithms, var.name_prefix]
}

# Privacy: retention matches the refresh's settings, the refresh may erase in the lake prefix only, and both
# functions may read the pseudonym key and nothing else of SSM.
run "retention_and_pseudonyms_are_wired_as_the_refresh_expects" {
  command = apply

  variables {
    lake_retention_days        = 400
    snapshot_retention_days    = 30
    pseudonymize               = true
    pseudonym_secret_parameter = "/insights/pseudonym-key"
  }

  assert {
    condition = one([
      for r in aws_s3_bucket_lifecycle_configuration.this["lake"].rule : r if r.id == "expire-old-order-lines"
      ]).expiration[0].days == 400 && one([
      for r in aws_s3_bucket_lifecycle_configuration.this["lake"].rule : r if r.id == "expire-old-order-lines"
    ]).filter[0].prefix == "lake/orders/"
    error_message = "The lake's orders/ objects expire after lake_retention_days."
  }
  assert {
    condition = toset([
      for r in aws_s3_bucket_lifecycle_configuration.this["lake"].rule : "${r.filter[0].prefix}=${r.expiration[0].days}"
      if contains(["expire-old-reviews", "expire-old-engagement"], r.id)
    ]) == toset(["lake/reviews/=400", "lake/engagement/=400"])
    error_message = "The optional reviews/ and engagement/ tables expire with the orders."
  }
  assert {
    condition = toset([
      for r in aws_s3_bucket_lifecycle_configuration.this["snapshots"].rule : "${r.filter[0].prefix}=${r.expiration[0].days}"
      if startswith(r.id, "expire-old-snapshot-")
    ]) == toset(["snapshots/versions/=37", "snapshots/scores/=37"])
    error_message = "Snapshot versions and score partitions expire a week after snapshot_retention_days."
  }
  assert {
    condition = (
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_LAKE_RETENTION_DAYS"] == "400" &&
      aws_lambda_function.this["refresh"].environment[0].variables["INSIGHTS_SNAPSHOT_RETENTION_DAYS"] == "30" &&
      alltrue([for fn in ["api", "refresh"] : (
        aws_lambda_function.this[fn].environment[0].variables["INSIGHTS_PSEUDONYMIZE"] == "true" &&
        aws_lambda_function.this[fn].environment[0].variables["INSIGHTS_PSEUDONYM_SECRET_PARAMETER"] == "/insights/pseudonym-key"
      )])
    )
    error_message = "The functions get the retention and pseudonym settings."
  }
  assert {
    condition = alltrue([for policy in [aws_iam_role_policy.api, aws_iam_role_policy.refresh] : one([
      for s in jsondecode(policy.policy).Statement : s.Resource if s.Sid == "ReadPseudonymKeyParameter"
    ]) == ["arn:aws:ssm:eu-west-1:123456789012:parameter/insights/pseudonym-key"]])
    error_message = "Both functions may read the pseudonym key parameter, and only it."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.refresh.policy).Statement : s if s.Sid == "EraseAndExpireLake"
      ]).Resource == ["arn:aws:s3:::demand-insights-lake-123456789012-eu-west-1/lake/*"] && toset(one([
        for s in jsondecode(aws_iam_role_policy.refresh.policy).Statement : s.Action if s.Sid == "EraseAndExpireLake"
    ])) == toset(["s3:PutObject", "s3:DeleteObject"])
    error_message = "The refresh may rewrite and delete lake files in its prefix only."
  }
}
