terraform {
  # Renders text only: no provider, so it is the same on any cloud that runs cloud-init.
  required_version = ">= 1.5"
}
