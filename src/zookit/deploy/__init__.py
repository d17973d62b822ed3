"""Deployers: packages a device toolchain imports, made from a converted and verified target."""
