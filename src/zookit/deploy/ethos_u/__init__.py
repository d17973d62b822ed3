"""The Ethos-U deployer: int8 TFLite targets compiled by Arm's Vela for Ethos-U55/U65/U85 (package.py)."""
