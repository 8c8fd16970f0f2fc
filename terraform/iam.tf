# Least privilege. The api function reads the published snapshots and nothing else; the refresh reads the
# lake, queries it through the workgroup, and writes the snapshots; the scheduler may invoke the refresh only.

locals {
  snapshots_key_prefix = "${local.snapshots_bucket_arn}/${var.snapshots_prefix}"
  api_log_group        = "/aws/lambda/${local.api_function_name}"
  refresh_log_group    = "/aws/lambda/${local.refresh_function_name}"
  dlq_name             = "${var.name_prefix}-refresh-dlq"
  dlq_arn              = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  ssm_parameter_arn = var.jwt_secret_parameter == null ? null : (
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(var.jwt_secret_parameter, "/")}"
  )
  # both functions hash customer ids with the pseudonym key (pseudonymize): each may read only that key
  pseudonym_statements = concat(var.pseudonym_secret_parameter == null ? [] : [{
    Sid      = "ReadPseudonymKeyParameter"
    Effect   = "Allow"
    Action   = ["ssm:GetParameter"]
    Resource = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(var.pseudonym_secret_parameter, "/")}"]
    }], var.pseudonym_secret_arn == null ? [] : [{
    Sid      = "ReadPseudonymKey"
    Effect   = "Allow"
    Action   = ["secretsmanager:GetSecretValue"]
    Resource = [var.pseudonym_secret_arn]
  }])

  lambda_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  # Both functions: their own log group (created here, so no logs:CreateLogGroup), X-Ray, and their own
  # KMS-encrypted environment (Lambda's encryption context names the function).
  observability_statements = {
    for fn, f in {
      api     = { group = local.api_log_group, arn = local.api_function_arn }
      refresh = { group = local.refresh_log_group, arn = local.refresh_function_arn }
      } : fn => [
      {
        Sid       = "DecryptOwnEnvironment"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [local.kms_key_arn]
        Condition = { StringEquals = { "kms:EncryptionContext:aws:lambda:FunctionArn" = f.arn } }
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.log_group_arn}${f.group}:*"]
      },
      {
        # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions: "*" is the only form.
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
    ]
  }

  api_policy = {
    Version = "2012-10-17"
    Statement = concat(local.observability_statements.api, [
      {
        Sid      = "ReadPublishedSnapshots"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.snapshots_key_prefix}/latest", "${local.snapshots_key_prefix}/versions/*"]
      },
      {
        # GET /exports/customer-scores presigns GETs of the refresh's score copies with this role
        Sid      = "PresignScoreExports"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.snapshots_key_prefix}/scores/customer_scores/*", "${local.snapshots_key_prefix}/scores/exports/*"]
      },
      {
        Sid       = "ListPublishedSnapshots"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.snapshots_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = ["${var.snapshots_prefix}/latest", "${var.snapshots_prefix}/versions/*"] } }
      },
      {
        Sid       = "DecryptSnapshotsThroughS3"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [local.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
      },
      ], var.jwt_secret_parameter == null ? [] : [{
        Sid      = "ReadJwtSecretParameter"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = [local.ssm_parameter_arn]
        }], var.jwt_secret_arn == null ? [] : [{
        Sid      = "ReadJwtSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = [var.jwt_secret_arn]
    }], local.pseudonym_statements)
  }

  refresh_policy = {
    Version = "2012-10-17"
    Statement = concat(local.observability_statements.refresh, [
      {
        # Athena reads the lake with the caller's credentials.
        Sid      = "ReadLake"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.lake_bucket_arn}/${var.lake_prefix}/*"]
      },
      {
        # Erasure on request and retention rewrite or delete lake files (insights/refresh/erasure.py).
        Sid      = "EraseAndExpireLake"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = ["${local.lake_bucket_arn}/${var.lake_prefix}/*"]
      },
      {
        Sid       = "ListLake"
        Effect    = "Allow"
        Action    = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource  = [local.lake_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = [var.lake_prefix, "${var.lake_prefix}/*"] } }
      },
      {
        Sid      = "ReadWriteSnapshots"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        Resource = ["${local.snapshots_key_prefix}/*"]
      },
      {
        Sid       = "ListSnapshots"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.snapshots_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = [var.snapshots_prefix, "${var.snapshots_prefix}/*"] } }
      },
      {
        # Athena writes the results with the caller's credentials; PyAthena's PandasCursor downloads them.
        Sid      = "ReadWriteAthenaResults"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = ["${local.athena_bucket_arn}/${local.athena_results_prefix}/*"]
      },
      {
        Sid      = "ListAthenaResults"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
        Resource = [local.athena_bucket_arn]
      },
      {
        Sid    = "QueryThroughTheWorkgroup"
        Effect = "Allow"
        Action = [
          "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
          "athena:StopQueryExecution", "athena:GetWorkGroup",
        ]
        Resource = [local.workgroup_arn]
      },
      {
        Sid    = "ReadLakeTableDefinitions"
        Effect = "Allow"
        Action = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
        Resource = concat(
          ["${local.glue_arn}:catalog", "${local.glue_arn}:database/${var.glue_database_name}"],
          [for t in keys(local.contract.lake_tables) : "${local.glue_arn}:table/${var.glue_database_name}/${t}"],
        )
      },
      {
        Sid       = "UseTheStackKeyThroughS3AndSqs"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = [local.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = ["s3.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com"] } }
      },
      {
        # The function's dead-letter queue: Lambda sends failed asynchronous events with the execution role.
        Sid      = "SendFailedEventsToDlq"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.dlq_arn]
      },
    ], local.pseudonym_statements)
  }

  scheduler_policy = {
    Version = "2012-10-17"
    Statement = concat(var.sharded_refresh ? [
      {
        Sid      = "StartShardedRefresh"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = [local.sfn_arn]
      },
      ] : [
      {
        Sid      = "InvokeRefresh"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.refresh_function_arn, "${local.refresh_function_arn}:*"]
      },
      ], [
      {
        Sid      = "SendUndeliveredEventsToDlq"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.dlq_arn]
      },
      {
        Sid       = "EncryptDlqMessages"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = [local.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = "sqs.${local.region}.amazonaws.com" } }
      },
    ])
  }
}

resource "aws_iam_role" "api" {
  name               = "${local.api_function_name}-role"
  description        = "Demand Insights api function: reads published snapshots only"
  assume_role_policy = local.lambda_trust
}

resource "aws_iam_role_policy" "api" {
  name   = "least-privilege"
  role   = aws_iam_role.api.id
  policy = jsonencode(local.api_policy)
}

resource "aws_iam_role" "refresh" {
  name               = "${local.refresh_function_name}-role"
  description        = "Demand Insights refresh function: lake, Athena workgroup, snapshots"
  assume_role_policy = local.lambda_trust
}

resource "aws_iam_role_policy" "refresh" {
  name   = "least-privilege"
  role   = aws_iam_role.refresh.id
  policy = jsonencode(local.refresh_policy)
}

resource "aws_iam_role" "scheduler" {
  name        = "${var.name_prefix}-scheduler-role"
  description = "EventBridge Scheduler: invokes the refresh function"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-refresh"
  role   = aws_iam_role.scheduler.id
  policy = jsonencode(local.scheduler_policy)
}
