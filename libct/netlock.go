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
// and removes it when the processes run on. Two of rt migrate's needs are
// not met by that:
//
//   - Without --lazy the final dump leaves the processes frozen (a failure
//     must be able to thaw them), so CRIU unlocks the network after it:
//     from then until the route moves, the kernel here would acknowledge
//     data the destination never gets, and, once the container is gone,
//     answer with resets. rt holds its own lock (chain RT-MIGRATE, all
//     dropped) from the freeze on; it is removed if the container thaws
//     here and kept, like CRIU's after a dump that ends the processes,
//     in the namespace the container left.
//   - CRIU 3.17's lazy-pages dump does not unlock when the page transfer
//     fails after the dump (rt migrate --lazy rolled back): it resumes
//     the processes with the chain in place. rt removes it then, the way
//     CRIU's own unlock does.
//
// Both act in the network namespace of the container's init, for IPv4 and
// IPv6, through nsenter and iptables-restore, the tools CRIU itself uses.
const (
	criuLockChain = "CRIU"
	rtLockChain   = "RT-MIGRATE"
)

func lockRules(chain string) string {
	return "*filter\n:" + chain + " - [0:0]\n-I INPUT -j " + chain + "\n-I OUTPUT -j " + chain + "\n-A " + chain + " -j DROP\nCOMMIT\n"
}

func unlockRules(chain string) string {
	return "*filter\n:" + chain + " - [0:0]\n-D INPUT -j " + chain + "\n-D OUTPUT -j " + chain + "\n-X " + chain + "\nCOMMIT\n"
}

// netnsIptables applies rules (iptables-restore input) in the network
// namespace of pid, for each family where want says so.
func netnsIptables(pid int, rules string, want func(family, netns string) bool) error {
	netns := "--net=/proc/" + strconv.Itoa(pid) + "/ns/net"
	var errs []string
	for _, family := range []string{"iptables", "ip6tables"} {
		if !want(family, netns) {
			continue
		}
		cmd := exec.Command("nsenter", netns, family+"-restore", "-w", "--noflush")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("%s-restore: %v: %s", family, err, strings.TrimSpace(string(out))))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("in the network namespace of pid %d: %s", pid, strings.Join(errs, "; "))
	}
	return nil
}

// hasChain: the chain exists (iptables -S fails for a missing one).
func hasChain(chain string) func(family, netns string) bool {
	return func(family, netns string) bool {
		return exec.Command("nsenter", netns, family, "-w", "-S", chain).Run() == nil
	}
}

// unlockCriuNetwork removes CRIU's lock chain where it is present.
func unlockCriuNetwork(pid int) error {
	if err := netnsIptables(pid, unlockRules(criuLockChain), hasChain(criuLockChain)); err != nil {
		return fmt.Errorf("removing CRIU's network lock (iptables chain %s): %w", criuLockChain, err)
	}
	return nil
}

// lockNetwork drops every packet in and out of the namespace. IPv4 must
// work; IPv6 is locked where ip6tables works.
func lockNetwork(pid int) error {
	v6 := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "ip6tables", "-w", "-S", "INPUT").Run() == nil
	err := netnsIptables(pid, lockRules(rtLockChain), func(family, _ string) bool { return family == "iptables" || v6 })
	if err != nil {
		return fmt.Errorf("locking the network (iptables chain %s): %w", rtLockChain, err)
	}
	return nil
}

// unlockNetwork removes lockNetwork's chain.
func unlockNetwork(pid int) error {
	if err := netnsIptables(pid, unlockRules(rtLockChain), hasChain(rtLockChain)); err != nil {
		return fmt.Errorf("removing rt's network lock (iptables chain %s): %w", rtLockChain, err)
	}
	return nil
}
