# CloudWatch alarms recommended by the original design (error rate > 1%, duration > 4 min, throttles > 0,
# memory > 90%) plus a failed refresh, all to one SNS topic.

locals {
  memory_metric_namespace = "DemandInsights/Lambda"

  # Single-metric alarms: name suffix -> definition.
  metric_alarms = merge(
    {
      for fn, f in local.functions : "${fn}-throttles" => {
        description = "The ${fn} function was throttled (reserved concurrency ${f.reserved})."
        namespace   = "AWS/Lambda"
        metric      = "Throttles"
        dimensions  = { FunctionName = f.name }
        statistic   = "Sum"
        extended    = null
        period      = 300
        comparison  = "GreaterThanThreshold"
        threshold   = 0
      }
    },
    {
      for fn, f in local.functions : "${fn}-memory" => {
        description = "The ${fn} function used more than ${var.alarm_memory_percent}% of its ${f.memory} MB."
        namespace   = local.memory_metric_namespace
        metric      = "MaxMemoryUsedMB-${fn}"
        dimensions  = {}
        statistic   = "Maximum"
        extended    = null
        period      = 300
        comparison  = "GreaterThanThreshold"
        threshold   = floor(f.memory * var.alarm_memory_percent / 100)
      }
    },
    {
      "refresh-duration" = {
        description = "A refresh ran longer than ${var.alarm_duration_ms / 60000} minutes (timeout ${var.refresh_timeout_s} s)."
        namespace   = "AWS/Lambda"
        metric      = "Duration"
        dimensions  = { FunctionName = local.refresh_function_name }
        statistic   = "Maximum"
        extended    = null
        period      = 300
        comparison  = "GreaterThanThreshold"
        threshold   = var.alarm_duration_ms
      }
      "refresh-failed" = {
        description = "A refresh failed: the previous snapshot stays live. See the refresh log group and the DLQ."
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = local.refresh_function_name }
        statistic   = "Sum"
        extended    = null
        period      = 300
        comparison  = "GreaterThanOrEqualToThreshold"
        threshold   = 1
      }
      "refresh-dlq" = {
        description = "A scheduled refresh or retrain event was given up on and sits in the dead-letter queue."
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = local.dlq_name }
        statistic   = "Maximum"
        extended    = null
        period      = 300
        comparison  = "GreaterThanThreshold"
        threshold   = 0
      }
      "snapshot-degraded" = {
        description = "GET /demand-insights/health answered degraded: the data, the as_of or the snapshot is stale (the answer's reasons say which). The API keeps serving."
        namespace   = "DemandInsights"
        metric      = "SnapshotDegraded"
        dimensions  = { service = "demand-insights-api" }
        statistic   = "Maximum"
        extended    = null
        period      = 3600
        comparison  = "GreaterThanOrEqualToThreshold"
        threshold   = 1
      }
      "api-duration-p99" = {
        description = "The api function's p99 duration exceeds ${var.alarm_api_p99_ms} ms (it answers from memory)."
        namespace   = "AWS/Lambda"
        metric      = "Duration"
        dimensions  = { FunctionName = local.api_function_name }
        statistic   = null
        extended    = "p99"
        period      = 300
        comparison  = "GreaterThanThreshold"
        threshold   = var.alarm_api_p99_ms
      }
    },
  )

  # Error-rate alarms (metric math, percent): function errors per invocation, and the API's 5xx share.
  error_rate_alarms = merge(
    {
      for fn, f in local.functions : "${fn}-error-rate" => {
        description = "More than ${var.alarm_error_rate_percent}% of the ${fn} function's invocations failed."
        namespace   = "AWS/Lambda"
        errors      = "Errors"
        requests    = "Invocations"
        dimensions  = { FunctionName = f.name }
      }
    },
    {
      "api-5xx-rate" = {
        description = "More than ${var.alarm_error_rate_percent}% of API requests answered 5xx."
        namespace   = "AWS/ApiGateway"
        errors      = "5xx"
        requests    = "Count"
        dimensions  = { ApiId = aws_apigatewayv2_api.this.id, Stage = "$default" }
      }
    },
  )
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = local.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Peak memory per invocation, from the platform's JSON REPORT record (the functions log in JSON format).
resource "aws_cloudwatch_log_metric_filter" "max_memory" {
  for_each = local.functions

  name           = "${each.value.name}-max-memory"
  log_group_name = aws_cloudwatch_log_group.function[each.key].name
  pattern        = "{ $.type = \"platform.report\" }"

  metric_transformation {
    name      = "MaxMemoryUsedMB-${each.key}"
    namespace = local.memory_metric_namespace
    value     = "$.record.metrics.maxMemoryUsedMB"
    unit      = "Megabytes"
  }
}

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = local.metric_alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = length(each.value.dimensions) > 0 ? each.value.dimensions : null
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended
  period              = each.value.period
  evaluation_periods  = 1
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "error_rate" {
  for_each = local.error_rate_alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_error_rate_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "error rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = each.value.namespace
      metric_name = each.value.errors
      dimensions  = each.value.dimensions
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = each.value.namespace
      metric_name = each.value.requests
      dimensions  = each.value.dimensions
      period      = 300
      stat        = "Sum"
    }
  }
}
