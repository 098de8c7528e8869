terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }

  # State holds no secret (keys and tokens stay in SSM), but it is the fleet's map: keep it remote and locked.
  # backend "s3" {
  #   bucket         = "example-terraform-state"
  #   key            = "gslbdns/production.tfstate"
  #   region         = "eu-west-1"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
}
