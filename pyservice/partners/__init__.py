"""Partners (接入的业务信息系统): scopes, access policy, access applications."""
