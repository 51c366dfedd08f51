package config

// The tests parse configurations with the built-in extension types, which
// a program registers by importing directors/contrib (package app does).
import _ "github.com/shellac-lb/shellac/directors/contrib"
