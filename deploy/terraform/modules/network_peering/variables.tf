variable "name" {
  description = "Name tag of the peering connection."
  type        = string
}

variable "requester_vpc_id" {
  type = string
}

variable "requester_cidr" {
  type = string
}

variable "requester_route_table_ids" {
  description = "Route tables of the requester that get a route to the accepter."
  type        = list(string)
}

variable "accepter_vpc_id" {
  type = string
}

variable "accepter_cidr" {
  type = string
}

variable "accepter_region" {
  description = "The accepter's region, e.g. eu-west-1."
  type        = string
}

variable "accepter_route_table_ids" {
  description = "Route tables of the accepter that get a route back to the requester."
  type        = list(string)
}

variable "tags" {
  type    = map(string)
  default = {}
}
