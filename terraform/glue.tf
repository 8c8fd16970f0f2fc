# Glue database and tables. Columns, types and partition keys come from athena/contract.json, the data
# contract the engines and the importer read, so the catalog cannot drift from the code.

locals {
  parquet = {
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    serde         = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
  }

  # Where each contract table lives: lake tables under the lake prefix, score tables under <snapshots>/scores.
  table_locations = merge(
    { for name, _ in local.contract.lake_tables : name => "${local.lake_uri}/${name}" },
    { for name, _ in local.contract.score_tables : name => "${local.snapshots_uri}/scores/${name}" },
  )
  table_specs = merge(local.contract.lake_tables, local.contract.score_tables)

  # Partition projection: Athena computes the partitions (one a day, yyyy-MM-dd) from the query's predicate,
  # so nothing has to register partitions after each load or refresh.
  projections = {
    for name, spec in local.table_specs : name => length(spec.partition_keys) == 0 ? {} : merge(
      {
        "projection.enabled"        = "true"
        "storage.location.template" = "${local.table_locations[name]}/${join("/", [for k in spec.partition_keys : "${k.name}=$${${k.name}}"])}/"
      },
      merge([
        for k in spec.partition_keys : {
          "projection.${k.name}.type"          = "date"
          "projection.${k.name}.format"        = "yyyy-MM-dd"
          "projection.${k.name}.range"         = "${var.orders_projection_start},NOW"
          "projection.${k.name}.interval"      = "1"
          "projection.${k.name}.interval.unit" = "DAYS"
        }
      ]...),
    )
  }
}

resource "aws_glue_catalog_database" "this" {
  name        = var.glue_database_name
  description = "Demand Insights Engine: the order lake and the published scores."
}

resource "aws_glue_catalog_table" "contract" {
  for_each = local.table_specs

  database_name = aws_glue_catalog_database.this.name
  name          = each.key
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      EXTERNAL              = "TRUE"
      classification        = "parquet"
      "parquet.compression" = "SNAPPY"
    },
    local.projections[each.key],
  )

  dynamic "partition_keys" {
    for_each = each.value.partition_keys
    content {
      name    = partition_keys.value.name
      type    = partition_keys.value.type
      comment = partition_keys.value.comment
    }
  }

  storage_descriptor {
    location      = "${local.table_locations[each.key]}/"
    input_format  = local.parquet.input_format
    output_format = local.parquet.output_format

    ser_de_info {
      name                  = each.key
      serialization_library = local.parquet.serde
      parameters            = { "serialization.format" = "1" }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}
