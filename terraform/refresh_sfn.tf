# The sharded refresh (docs/refresh.md, "Past one machine"): a Standard state machine, plan -> Distributed Map
# of shard scorers -> check, merge, publish, every task the refresh function (handler.py dispatches
# {"refresh_step": ...}). The ASL is terraform/refresh_sfn.asl.json (a template; `make asl-check` validates it).
# With var.sharded_refresh the daily and monthly schedules start it instead of invoking the function.

locals {
  sfn_name      = "${var.name_prefix}-refresh"
  sfn_arn       = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.sfn_name}"
  sfn_log_group = "/aws/vendedlogs/states/${local.sfn_name}"

  sfn_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeRefreshSteps"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.refresh_function_arn, "${local.refresh_function_arn}:*"]
      },
      {
        # A Distributed Map runs its items as child executions of this same state machine.
        Sid      = "RunMapChildren"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = [local.sfn_arn]
      },
      {
        Sid      = "WatchMapChildren"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:StopExecution"]
        Resource = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.sfn_name}/*"]
      },
      {
        # CloudWatch Logs' vended-log delivery APIs take no resource-level permissions: "*" is the only form.
        Sid    = "DeliverExecutionLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ]
        Resource = ["*"]
      },
    ]
  }
}

resource "aws_cloudwatch_log_group" "sfn" {
  name              = local.sfn_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_iam_role" "sfn" {
  name        = "${local.sfn_name}-sfn-role"
  description = "Demand Insights sharded refresh state machine: invokes the refresh function, runs its map children"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "sfn" {
  name   = "least-privilege"
  role   = aws_iam_role.sfn.id
  policy = jsonencode(local.sfn_policy)
}

resource "aws_sfn_state_machine" "refresh" {
  name     = local.sfn_name
  type     = "STANDARD"
  role_arn = aws_iam_role.sfn.arn
  definition = templatefile("${path.module}/refresh_sfn.asl.json", {
    partition            = local.partition
    refresh_function_arn = local.refresh_function_arn
    shards               = var.refresh_shards
    max_concurrency      = var.refresh_map_max_concurrency
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = false
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }
}

resource "aws_cloudwatch_metric_alarm" "sfn_failed" {
  alarm_name          = "${var.name_prefix}-refresh-sfn-failed"
  alarm_description   = "A sharded refresh execution failed, timed out or was aborted: nothing was published, the previous snapshot stays live."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = local.sfn_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
