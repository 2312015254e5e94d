// A cnitool for the tests: runs a conflist through the real libcni (Debian's
// golang-github-appc-cni-dev, built offline by test/helpers/libcni.ts), as a container runtime
// does. Usage: cnitool add|check|del <conflist file> <netns path>.
// Environment: CNI_PATH (where the plugins are), CNI_CONTAINERID, CNI_IFNAME (default eth0),
// CAP_ARGS (JSON: the capability arguments, e.g. {"portMappings":[...]}), CNI_CACHE_DIR (where
// libcni keeps ADD's result for CHECK and DEL; required, so that it never writes /var/lib/cni).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: cnitool add|check|del <conflist file> <netns path>")
	}
	cacheDir := os.Getenv("CNI_CACHE_DIR")
	if cacheDir == "" {
		fail("CNI_CACHE_DIR is required")
	}
	list, err := libcni.ConfListFromFile(os.Args[2])
	if err != nil {
		fail("loading %s: %v", os.Args[2], err)
	}
	ifName := os.Getenv("CNI_IFNAME")
	if ifName == "" {
		ifName = "eth0"
	}
	rt := &libcni.RuntimeConf{
		ContainerID: os.Getenv("CNI_CONTAINERID"),
		NetNS:       os.Args[3],
		IfName:      ifName,
		CacheDir:    filepath.Clean(cacheDir),
	}
	if caps := os.Getenv("CAP_ARGS"); caps != "" {
		if err := json.Unmarshal([]byte(caps), &rt.CapabilityArgs); err != nil {
			fail("CAP_ARGS: %v", err)
		}
	}
	cni := libcni.NewCNIConfig(filepath.SplitList(os.Getenv("CNI_PATH")), nil)
	ctx := context.Background()
	switch strings.ToLower(os.Args[1]) {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail("%v", err)
		}
		if err := result.Print(); err != nil {
			fail("printing the result: %v", err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail("%v", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail("%v", err)
		}
	default:
		fail("unknown command %s", os.Args[1])
	}
}
