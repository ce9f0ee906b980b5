"""`connector dev`: the embedded sandbox (AWS emulator, Cognito Hosted UI stand-in, demo data,
and a demo web app that integrates the connector)."""
