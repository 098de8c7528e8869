# The one identity every GslbDns instance runs with: read its own secrets from SSM Parameter Store
# (so no secret is in user data or on a command line), fetch the build from S3, and be reachable by
# SSM Session Manager instead of SSH (no port 22 anywhere).
data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  parameter_arns = [
    for name in var.secret_parameters :
    "arn:aws:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(name, "/")}"
  ]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "access" {
  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["ssm:GetParameter"]
    resources = local.parameter_arns
  }

  dynamic "statement" {
    for_each = var.artifact_bucket_arn == "" ? [] : [var.artifact_bucket_arn]
    content {
      sid       = "ReadArtifacts"
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/*"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "access" {
  name   = "${var.name}-access"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.access.json
}

resource "aws_iam_role_policy_attachment" "session_manager" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  name = var.name
  role = aws_iam_role.this.name
  tags = var.tags
}
