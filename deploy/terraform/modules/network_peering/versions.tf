terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
      # The two ends of a cross-region peering live in two regions, so the caller passes two providers.
      configuration_aliases = [aws.requester, aws.accepter]
    }
  }
}
