package libct

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// CRIU locks a container's network namespace during a --tcp-established
// dump with an iptables chain named CRIU (its default method, iptables):
//
//	-I INPUT -j CRIU; -I OUTPUT -j CRIU; -A CRIU -m mark --mark 0xC114 -j ACCEPT; -A CRIU -j DROP
//
// and removes it when the processes run on. CRIU 3.17's lazy-pages dump
// does not: when the page transfer fails after the dump (rt migrate --lazy
// rolled back), it resumes the processes with the chain still in place,
// and they would run cut off from the network. rt removes it then, the way
// CRIU's own unlock does.
const criuUnlockRules = "*filter\n:CRIU - [0:0]\n-D INPUT -j CRIU\n-D OUTPUT -j CRIU\n-X CRIU\nCOMMIT\n"

// unlockCriuNetwork removes CRIU's lock chain from the network namespace
// of process pid, for IPv4 and IPv6, where it is present.
func unlockCriuNetwork(pid int) error {
	netns := "--net=/proc/" + strconv.Itoa(pid) + "/ns/net"
	var errs []string
	for _, family := range []string{"iptables", "ip6tables"} {
		// -S CRIU fails when there is no such chain: nothing to undo.
		if exec.Command("nsenter", netns, family, "-w", "-S", "CRIU").Run() != nil {
			continue
		}
		cmd := exec.Command("nsenter", netns, family+"-restore", "-w", "--noflush")
		cmd.Stdin = strings.NewReader(criuUnlockRules)
		if out, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("%s-restore: %v: %s", family, err, strings.TrimSpace(string(out))))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing CRIU's network lock (iptables chain CRIU) in the network namespace of pid %d: %s", pid, strings.Join(errs, "; "))
	}
	return nil
}
