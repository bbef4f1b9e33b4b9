//go:build tools

// Package tools pins the kubectl main package in this module's dependency graph.
package tools

import _ "k8s.io/kubernetes/cmd/kubectl"
