// compose-check validates Compose files the way `docker compose config` does, without Docker:
// compose-go (the library Docker Compose is built on) loads each file, checks it against the
// Compose Specification's JSON schema, interpolates variables and checks references between
// services, networks, volumes, secrets and configs. An argument "a.yaml,b.yaml" is one project
// merged from several files, as `docker compose -f a.yaml -f b.yaml`. Exit 1 when any is invalid.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		if err := check(strings.Split(file, ",")); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			failed = true
			continue
		}
		fmt.Printf("%s: ok\n", file)
	}
	if failed {
		os.Exit(1)
	}
}

func check(files []string) error {
	for i, file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		files[i] = abs
	}
	options, err := cli.NewProjectOptions(
		files,
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithName("compose-check"),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return err
	}
	_, err = options.LoadProject(context.Background())
	return err
}
