# HTTP API in front of the api function. Every route goes to the same Lambda proxy integration (payload 2.0);
# the function verifies the JWT itself whatever the front door. With jwt_oidc_authorizer the gateway also
# rejects bad tokens before they cost an invocation (HTTP API JWT authorizers take OIDC issuers only).

locals {
  api_base = "/demand-insights"

  # route key -> needs a token
  routes = {
    "GET ${local.api_base}/segments"                 = true
    "POST ${local.api_base}/forecast"                = true
    "POST ${local.api_base}/price-elasticity"        = true
    "POST ${local.api_base}/price-optimization"      = true
    "POST ${local.api_base}/clv"                     = true
    "POST ${local.api_base}/churn"                   = true
    "GET ${local.api_base}/at-risk-customers"        = true
    "GET ${local.api_base}/quality"                  = true
    "GET ${local.api_base}/overview"                 = true
    "GET ${local.api_base}/customers/{customer_id}"  = true
    "POST ${local.api_base}/recommendations"         = true
    "POST ${local.api_base}/mcp"                     = true
    "POST ${local.api_base}/experiments/sample-size" = true
    "POST ${local.api_base}/experiments/analyze"     = true
    "GET ${local.api_base}/segments/traits"          = true
    "GET ${local.api_base}/health"                   = false
    "GET ${local.api_base}/openapi.json"             = false
    # the dashboard's page and files: public (they hold no data; the page asks for a token for every answer)
    "GET ${local.api_base}/dashboard"                   = false
    "GET ${local.api_base}/dashboard/dashboard.js"      = false
    "GET ${local.api_base}/dashboard/views.js"          = false
    "GET ${local.api_base}/dashboard/dashboard.css"     = false
    "GET ${local.api_base}/dashboard/uPlot.iife.min.js" = false
    "GET ${local.api_base}/dashboard/uPlot.min.css"     = false
    "GET ${local.api_base}/dashboard/uPlot.LICENSE"     = false
    # the customer base: churn outlook, cohorts, growth projection, segment transitions, the scores export
    "GET ${local.api_base}/churn-outlook"           = true
    "GET ${local.api_base}/cohorts"                 = true
    "GET ${local.api_base}/growth-projection"       = true
    "GET ${local.api_base}/segments/transitions"    = true
    "GET ${local.api_base}/exports/customer-scores" = true
  }

  access_log_group = "/aws/apigateway/${var.name_prefix}-api"
}

resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name_prefix}-api"
  description   = "Demand Insights Engine REST API"
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = length(var.cors_allow_origins) > 0 ? [1] : []
    content {
      allow_origins = var.cors_allow_origins
      allow_methods = ["GET", "POST", "OPTIONS"]
      allow_headers = ["authorization", "content-type", "x-correlation-id", "mcp-protocol-version"]
      max_age       = 3600
    }
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this["api"].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.jwt_oidc_authorizer ? 1 : 0

  api_id           = aws_apigatewayv2_api.this.id
  name             = "${var.name_prefix}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = [var.jwt_audience]
  }
}

resource "aws_apigatewayv2_route" "this" {
  for_each = local.routes
  #checkov:skip=CKV_AWS_309:health, openapi.json and the dashboard's page and files are public on purpose (they hold no data); every insight route is authorized by the function's own JWT check (and by the gateway's JWT authorizer when an OIDC issuer is configured).

  api_id    = aws_apigatewayv2_api.this.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.api.id}"

  authorization_type   = each.value && var.jwt_oidc_authorizer ? "JWT" : "NONE"
  authorizer_id        = each.value && var.jwt_oidc_authorizer ? aws_apigatewayv2_authorizer.jwt[0].id : null
  authorization_scopes = each.value && var.jwt_oidc_authorizer ? var.jwt_authorizer_scopes : null
}

resource "aws_cloudwatch_log_group" "access" {
  name              = local.access_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit    = var.api_throttling_rate_limit
    throttling_burst_limit   = var.api_throttling_burst_limit
    detailed_metrics_enabled = true
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      ip                 = "$context.identity.sourceIp"
      userAgent          = "$context.identity.userAgent"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      latencyMs          = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
      principal          = "$context.authorizer.claims.sub"
    })
  }
}

# API Gateway may invoke the api function only for this API's /demand-insights routes.
resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["api"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*${local.api_base}/*"
}
