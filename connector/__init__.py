"""connector: a Cognito-backed OAuth connector that acts in AWS as the user."""

__version__ = "0.1.0"
