output "api_endpoint" {
  description = "Base URL of the API: <api_endpoint>/demand-insights/health"
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "api_id" {
  description = "HTTP API id."
  value       = aws_apigatewayv2_api.this.id
}

output "health_url" {
  description = "The unauthenticated health route."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}${local.api_base}/health"
}

output "function_names" {
  description = "Lambda function names by role (api, refresh)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "lake_uri" {
  description = "INSIGHTS_LAKE: where to put orders/ and customers/ Parquet files."
  value       = local.lake_uri
}

output "snapshots_uri" {
  description = "INSIGHTS_SNAPSHOTS: where the refresh publishes and the API reads."
  value       = local.snapshots_uri
}

output "buckets" {
  description = "Bucket names by purpose."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "athena_workgroup" {
  description = "Athena workgroup of the refresh (and of analysts querying the score tables)."
  value       = aws_athena_workgroup.this.name
}

output "glue_database" {
  description = "Glue database holding orders, customers, customer_scores and product_forecasts."
  value       = aws_glue_catalog_database.this.name
}

output "refresh_dlq_url" {
  description = "Dead-letter queue of scheduled refresh events."
  value       = aws_sqs_queue.dlq.url
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "schedules" {
  description = "EventBridge Scheduler schedules by action."
  value       = { for k, s in aws_scheduler_schedule.this : k => s.schedule_expression }
}
