"""The SCIM 2.0 endpoint identity providers push people to (RFC 7643/7644)."""
