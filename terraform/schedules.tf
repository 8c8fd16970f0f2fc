# EventBridge Scheduler: the daily refresh and the monthly retrain, both to the refresh function (or, with
# var.sharded_refresh, to the sharded refresh's state machine: refresh_sfn.tf), with a
# retry policy for events it cannot deliver and a dead-letter queue (shared with the function's own DLQ).
# The input carries the scheduled time (Scheduler substitutes it): the refresh takes its as_of from it, so a
# delivery retried after midnight still refreshes the day it was scheduled for.

locals {
  schedules = {
    refresh = {
      description = "Daily refresh: extract, rescore with the stored models (retrain if stale or drifted), publish"
      expression  = var.refresh_schedule
      input       = { action = "refresh", scheduled_time = "<aws.scheduler.scheduled-time>" }
    }
    retrain = {
      description = "Monthly retrain: the full pipeline with freshly trained models"
      expression  = var.retrain_schedule
      input       = { action = "retrain", scheduled_time = "<aws.scheduler.scheduled-time>" }
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = 1209600 # 14 days, SQS's maximum: time to look at a failed run
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.name_prefix
}

resource "aws_scheduler_schedule" "this" {
  for_each = local.schedules
  #checkov:skip=CKV_AWS_297:The only data a schedule holds is {"action": "refresh"}; an AWS-owned key suffices and avoids granting the scheduler role kms:Decrypt.

  name                         = "${var.name_prefix}-${each.key}"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = each.value.description
  schedule_expression          = each.value.expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.sharded_refresh ? aws_sfn_state_machine.refresh.arn : aws_lambda_function.this["refresh"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode(each.value.input)

    retry_policy {
      maximum_retry_attempts       = var.schedule_max_retry_attempts
      maximum_event_age_in_seconds = var.schedule_max_event_age_s
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}
