# --- Naming and placement -------------------------------------------------------------------------

variable "aws_region" {
  description = "Region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, buckets, API, alarms)."
  type        = string
  default     = "demand-insights"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 3-20 lowercase letters, digits and hyphens (bucket names add up to 43 characters to it, S3 allows 63)."
  }
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

# --- Storage --------------------------------------------------------------------------------------

variable "existing_lake_bucket" {
  description = "Name of an existing bucket that already holds the lake; null creates one. The stack only reads it."
  type        = string
  default     = null
}

variable "lake_prefix" {
  description = "Key prefix of the lake in its bucket: <prefix>/orders/order_date=YYYY-MM-DD/*.parquet, <prefix>/customers/*.parquet."
  type        = string
  default     = "lake"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*$", var.lake_prefix))
    error_message = "lake_prefix: a key prefix without leading or trailing slash."
  }
}

variable "snapshots_prefix" {
  description = "Key prefix of the insight snapshots: <prefix>/latest, <prefix>/versions/..., <prefix>/scores/..."
  type        = string
  default     = "snapshots"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*$", var.snapshots_prefix))
    error_message = "snapshots_prefix: a key prefix without leading or trailing slash."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept in every bucket (the refresh keeps the last N snapshots itself)."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for buckets, logs, queue, topic and function environments; null creates one."
  type        = string
  default     = null
}

# --- Athena and Glue ------------------------------------------------------------------------------

variable "glue_database_name" {
  description = "Glue database of the lake and score tables (letters, digits, underscores)."
  type        = string
  default     = "demand_insights_db"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name: lowercase letters, digits and underscores."
  }
}

variable "orders_projection_start" {
  description = "First order_date the partition projection of `orders` covers (yyyy-MM-dd); it ends today (NOW)."
  type        = string
  default     = "2009-01-01"
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query data-scanned cutoff of the workgroup, in bytes (Athena's minimum is 10 MB)."
  type        = number
  default     = 107374182400 # 100 GiB

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff: at least 10485760 (10 MB), Athena's minimum."
  }
}

# --- The Lambda packages: one per function (build.sh -> dist/api.zip, dist/refresh.zip) ---------------

variable "api_package_file" {
  description = "The api function's zip (numpy, powertools, pydantic, PyJWT: no ML library). Terraform uploads it to the artifacts bucket unless package_s3_bucket is set."
  type        = string
  default     = "../dist/api.zip"
}

variable "refresh_package_file" {
  description = "The refresh function's zip (the ML stack). Terraform uploads it to the artifacts bucket unless package_s3_bucket is set."
  type        = string
  default     = "../dist/refresh.zip"
}

variable "package_s3_bucket" {
  description = "Bucket where both packages were already uploaded (e.g. by CI); null uploads api_package_file and refresh_package_file to the stack's artifacts bucket. A package over 50 MB zipped (refresh.zip) must come from S3."
  type        = string
  default     = null
}

variable "api_package_s3_key" {
  description = "Key of the api package in package_s3_bucket, or where Terraform uploads it in the artifacts bucket."
  type        = string
  default     = "lambda/api.zip"
}

variable "refresh_package_s3_key" {
  description = "Key of the refresh package in package_s3_bucket, or where Terraform uploads it in the artifacts bucket."
  type        = string
  default     = "lambda/refresh.zip"
}

variable "api_package_s3_object_version" {
  description = "Object version of the api package in package_s3_bucket (a new version makes Lambda pick up the new code)."
  type        = string
  default     = null
}

variable "refresh_package_s3_object_version" {
  description = "Object version of the refresh package in package_s3_bucket (a new version makes Lambda pick up the new code)."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Must match the wheels build.sh installs (manylinux x86_64)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = var.lambda_architecture == "x86_64"
    error_message = "build.sh builds an x86_64 package; arm64 would need arm64 wheels."
  }
}

# --- Functions ------------------------------------------------------------------------------------

variable "api_memory_mb" {
  description = "Memory of the api function."
  type        = number
  default     = 1024
}

variable "api_timeout_s" {
  description = "Timeout of the api function (an HTTP API integration gives up after 30 s)."
  type        = number
  default     = 29

  validation {
    condition     = var.api_timeout_s >= 1 && var.api_timeout_s <= 29
    error_message = "api_timeout_s: 1-29 (the HTTP API integration timeout is 30 s)."
  }
}

variable "api_reserved_concurrency" {
  description = "Reserved concurrency of the api function; -1 leaves it unreserved."
  type        = number
  default     = 50
}

variable "api_ephemeral_storage_mb" {
  description = "/tmp of the api function: the S3 snapshot store downloads the live version's tables there to map them (about 145 MB for 1M customers and 5k products in the compact format), and a new version lands beside the old one before the switch; 1024 MB leaves room for both with margin."
  type        = number
  default     = 1024

  validation {
    condition     = var.api_ephemeral_storage_mb >= 512 && var.api_ephemeral_storage_mb <= 10240
    error_message = "api_ephemeral_storage_mb: 512-10240."
  }
}

variable "refresh_memory_mb" {
  description = "Memory of the refresh function (training the models on ~1M customers needs about 3 GB)."
  type        = number
  default     = 3008
}

variable "refresh_timeout_s" {
  description = "Timeout of the refresh function (Lambda's maximum is 900 s)."
  type        = number
  default     = 900

  validation {
    condition     = var.refresh_timeout_s >= 60 && var.refresh_timeout_s <= 900
    error_message = "refresh_timeout_s: 60-900."
  }
}

variable "refresh_ephemeral_storage_mb" {
  description = "/tmp of the refresh function: Athena results, the snapshot being built and the model artifacts."
  type        = number
  default     = 4096

  validation {
    condition     = var.refresh_ephemeral_storage_mb >= 512 && var.refresh_ephemeral_storage_mb <= 10240
    error_message = "refresh_ephemeral_storage_mb: 512-10240."
  }
}

variable "refresh_reserved_concurrency" {
  description = "Reserved concurrency of the refresh function: 1 means two refreshes never run at once; -1 leaves it unreserved (accounts whose concurrency quota is 10 cannot reserve)."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Retention of the function and access log groups."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Application log level of both functions (DEBUG, INFO, WARN, ERROR)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level: TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  }
}

variable "insights_settings" {
  description = "Extra INSIGHTS_* settings for both functions, by name without the prefix, e.g. { KEEP_VERSIONS = \"7\" }. See insights/config.py."
  type        = map(string)
  default     = {}
}

# --- Authentication -------------------------------------------------------------------------------

variable "jwt_issuer" {
  description = "Issuer (iss) the tokens must carry. With jwt_oidc_authorizer, the OIDC issuer URL."
  type        = string
  default     = "demand-insights"
}

variable "jwt_audience" {
  description = "Audience (aud) the tokens must carry."
  type        = string
  default     = "demand-insights"
}

variable "jwt_algorithms" {
  description = "Comma-separated allow-list of JWT algorithms the function accepts (e.g. RS256,ES256 or HS256)."
  type        = string
  default     = "RS256"

  validation {
    condition     = alltrue([for a in split(",", var.jwt_algorithms) : contains(["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "HS256", "HS384", "HS512"], trimspace(a))])
    error_message = "jwt_algorithms: a comma-separated list of RS*/ES*/PS*/HS* algorithms (never none)."
  }
}

variable "jwt_jwks_url" {
  description = "JWKS URL for RS*/ES* tokens (e.g. https://issuer/.well-known/jwks.json)."
  type        = string
  default     = null
}

variable "jwt_secret_parameter" {
  description = "Name of an SSM SecureString parameter holding the HS256 secret (the api function may read only this parameter)."
  type        = string
  default     = null
}

variable "jwt_secret_arn" {
  description = "ARN of a Secrets Manager secret holding the HS256 secret (the api function may read only this secret)."
  type        = string
  default     = null
}

variable "jwt_oidc_authorizer" {
  description = "Put an API Gateway JWT authorizer (OIDC issuer jwt_issuer, audience jwt_audience) in front of the insight routes. The function verifies the token either way."
  type        = bool
  default     = false
}

variable "jwt_authorizer_scopes" {
  description = "Scopes the gateway's JWT authorizer requires on the insight routes (the function checks scopes too)."
  type        = list(string)
  default     = ["insights:read"]
}

# --- API Gateway ----------------------------------------------------------------------------------

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second of the API stage."
  type        = number
  default     = 100
}

variable "api_throttling_burst_limit" {
  description = "Burst of the API stage."
  type        = number
  default     = 200
}

variable "cors_allow_origins" {
  description = "Origins allowed by CORS; empty disables CORS (storefront backends call server to server)."
  type        = list(string)
  default     = []
}

# --- Schedules ------------------------------------------------------------------------------------

variable "schedule_timezone" {
  description = "Time zone of the schedules."
  type        = string
  default     = "UTC"
}

variable "refresh_schedule" {
  description = "Daily refresh (rescore with the stored models), days 2-31: the retrain runs on day 1 instead."
  type        = string
  default     = "cron(0 3 2-31 * ? *)"
}

variable "retrain_schedule" {
  description = "Monthly retrain (the full pipeline with fresh models)."
  type        = string
  default     = "cron(0 3 1 * ? *)"
}

variable "schedule_max_retry_attempts" {
  description = "Times the scheduler retries delivering an event it could not hand to the refresh function."
  type        = number
  default     = 3
}

variable "schedule_max_event_age_s" {
  description = "How long the scheduler keeps retrying one event before sending it to the dead-letter queue."
  type        = number
  default     = 3600
}

# --- Alarms ---------------------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (confirm the subscription); null subscribes nobody."
  type        = string
  default     = null
}

variable "alarm_error_rate_percent" {
  description = "Alarm when more than this percentage of invocations (or API requests) fail."
  type        = number
  default     = 1
}

variable "alarm_duration_ms" {
  description = "Alarm when the refresh runs longer than this (the original design: 4 minutes)."
  type        = number
  default     = 240000
}

variable "alarm_api_p99_ms" {
  description = "Alarm when the api function's p99 duration exceeds this."
  type        = number
  default     = 1000
}

variable "alarm_memory_percent" {
  description = "Alarm when a function's peak memory exceeds this percentage of its memory size."
  type        = number
  default     = 90
}

# -- privacy (SECURITY.md, "Personal data") --

variable "lake_retention_days" {
  description = "Order lines (and the optional reviews and engagement events) older than this many days leave the lake at each refresh (0 keeps them all); the lake bucket's lifecycle expires orders/, reviews/ and engagement/ objects as old as a backstop."
  type        = number
  default     = 0
  validation {
    condition     = var.lake_retention_days >= 0 && floor(var.lake_retention_days) == var.lake_retention_days
    error_message = "lake_retention_days: a whole number of days, 0 to keep every line."
  }
}

variable "snapshot_retention_days" {
  description = "Snapshot versions and analyst score partitions whose as_of is older than this are purged after each refresh (0: only keep_versions applies); the snapshots bucket's lifecycle expires versions/ and scores/ objects a week later as a backstop."
  type        = number
  default     = 0
  validation {
    condition     = var.snapshot_retention_days >= 0 && floor(var.snapshot_retention_days) == var.snapshot_retention_days
    error_message = "snapshot_retention_days: a whole number of days, 0 for no age limit."
  }
}

variable "pseudonymize" {
  description = "Customer ids are HMAC-SHA256 pseudonyms in the lake and snapshots (INSIGHTS_PSEUDONYMIZE); the API hashes the ids callers send. Needs pseudonym_secret_parameter or pseudonym_secret_arn."
  type        = bool
  default     = false
}

variable "pseudonym_secret_parameter" {
  description = "Name of an SSM SecureString parameter holding the pseudonym key (both functions may read only this parameter)."
  type        = string
  default     = null
}

variable "pseudonym_secret_arn" {
  description = "ARN of a Secrets Manager secret holding the pseudonym key (both functions may read only this secret)."
  type        = string
  default     = null
}

# -- the sharded refresh (docs/refresh.md, "Past one machine") --

variable "sharded_refresh" {
  description = "Run the scheduled refresh as the sharded state machine (Athena UNLOAD by shard, a Distributed Map of shard scorers) instead of one function invocation. Switch above about 2 million customers (docs/refresh.md, \"Past one machine\")."
  type        = bool
  default     = false
}

variable "refresh_shards" {
  description = "Shards of the sharded refresh (1-100: Athena UNLOAD writes at most 100 partitions)."
  type        = number
  default     = 16

  validation {
    condition     = var.refresh_shards >= 1 && var.refresh_shards <= 100 && floor(var.refresh_shards) == var.refresh_shards
    error_message = "refresh_shards must be an integer from 1 to 100."
  }
}

variable "refresh_map_max_concurrency" {
  description = "Shards scored at once by the state machine's Distributed Map (the refresh function's reserved concurrency becomes this plus one when sharded_refresh is on)."
  type        = number
  default     = 16
}
