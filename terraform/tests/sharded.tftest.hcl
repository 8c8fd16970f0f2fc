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

override_resource {
  target = aws_sfn_state_machine.refresh
  values = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:demand-insights-refresh" }
}

run "single_function_refresh_is_the_default" {
  command = apply

  assert {
    condition     = alltrue([for s in aws_scheduler_schedule.this : s.target[0].arn == aws_lambda_function.this["refresh"].arn])
    error_message = "By default the schedules invoke the refresh function (the single-function refresh)."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.scheduler.policy).Statement : s.Sid] == ["InvokeRefresh", "SendUndeliveredEventsToDlq", "EncryptDlqMessages"]
    error_message = "The scheduler may invoke the refresh function, not start the state machine, by default."
  }
  assert {
    condition     = aws_sfn_state_machine.refresh.type == "STANDARD" && jsondecode(aws_sfn_state_machine.refresh.definition).States.ScoreShards.ItemProcessor.ProcessorConfig.Mode == "DISTRIBUTED"
    error_message = "The state machine is Standard with a Distributed Map."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.refresh.definition).States.Plan.Parameters.FunctionName == "arn:aws:lambda:eu-west-1:123456789012:function:demand-insights-refresh" && jsondecode(aws_sfn_state_machine.refresh.definition).States.ScoreShards.MaxConcurrency == 16 && jsondecode(aws_sfn_state_machine.refresh.definition).States.Plan.Parameters.Payload.shards == 16
    error_message = "Every task invokes the refresh function; shards and MaxConcurrency come from the variables."
  }
}

run "sharded_refresh_switches_the_schedules_to_the_state_machine" {
  command = apply

  variables {
    sharded_refresh             = true
    refresh_shards              = 32
    refresh_map_max_concurrency = 8
  }

  assert {
    condition     = alltrue([for s in aws_scheduler_schedule.this : s.target[0].arn == aws_sfn_state_machine.refresh.arn])
    error_message = "With sharded_refresh the schedules start the state machine."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.scheduler.policy).Statement : s.Sid] == ["StartShardedRefresh", "SendUndeliveredEventsToDlq", "EncryptDlqMessages"] && jsondecode(aws_iam_role_policy.scheduler.policy).Statement[0].Resource == ["arn:aws:states:eu-west-1:123456789012:stateMachine:demand-insights-refresh"]
    error_message = "The scheduler may start the state machine and nothing else it does not need."
  }
  assert {
    condition     = aws_lambda_function.this["refresh"].reserved_concurrent_executions == 9
    error_message = "The refresh function reserves the map's concurrency plus one (the plan or publish step)."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.sfn.policy).Statement[0].Resource == ["arn:aws:lambda:eu-west-1:123456789012:function:demand-insights-refresh", "arn:aws:lambda:eu-west-1:123456789012:function:demand-insights-refresh:*"] && jsondecode(aws_iam_role_policy.sfn.policy).Statement[1].Resource == ["arn:aws:states:eu-west-1:123456789012:stateMachine:demand-insights-refresh"]
    error_message = "The state machine may invoke the refresh function and start its own map children only."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.sfn_failed.metric_name == "ExecutionsFailed" && aws_cloudwatch_metric_alarm.sfn_failed.namespace == "AWS/States"
    error_message = "Failed executions raise an alarm."
  }
}

run "shard_count_is_bounded_by_unloads_partition_limit" {
  command = plan

  variables {
    refresh_shards = 101
  }
  expect_failures = [var.refresh_shards]
}
