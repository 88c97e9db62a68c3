/** Help texts: the overview and one per command. */

/** The overview printed by `meshguard help`. */
export const OVERVIEW = `meshguard: a decentralized, WireGuard-compatible mesh VPN

Usage: meshguard <command> [options]

Identity and trust:
  keygen [--force]                   create this node's identity (an Ed25519 key pair)
  export                             print this node's public key, to give to peers
  trust <key|file> [--name NAME] [--org] [--yes] [--ipv4-owner]
                                     trust a peer's public key (or, with --org, an org's)
  revoke <name|key> [--org]          stop trusting a peer (or an org)
  config show [--json]               show the identity, its mesh addresses and trusted keys
  service <list|allow|deny|default|show|reset> ...
                                     which ports peers may reach on this node

Mesh:
  up [--seed HOST:PORT]... [options] run the mesh daemon (root: it creates the interface)
  status [--json] [--interface NAME]  show the running daemon's peers, handshakes and traffic
  down [--interface NAME]            stop the running daemon (it leaves the mesh first)
  netcheck [--json] [--interface NAME]
                                     show the NAT in front of the mesh port (STUN)
  device <ifname> [--mtu N] [--port N] [--workers N] [--no-offload]
                                     run a userspace WireGuard device, configured with wg

Other:
  version                            print the version
  help [command]                     show this help, or one command's

Global options:
  --config DIR     the config directory. Default: $MESHGUARD_CONFIG_DIR, else
                   /etc/meshguard when run as root, else $XDG_CONFIG_HOME/meshguard,
                   else ~/.config/meshguard
  -h, --help       show help

Run 'meshguard help <command>' for the details of a command.
`;

/** Per-command help, keyed by command name. */
export const COMMAND_USAGE: Record<string, string> = {
  service: `Usage: meshguard service list
       meshguard service allow|deny [--peer NAME|KEY] [--org NAME|KEY] <tcp|udp|all> <port|lo-hi|all>
       meshguard service allow|deny [--peer NAME|KEY] [--org NAME|KEY] all
       meshguard service default allow|deny
       meshguard service show [PEER]
       meshguard service reset

Service policies: which ports of this node the mesh peers may reach, checked on every packet
a peer sends (after decryption). A packet is held to the peer's own file, then its org's,
then global.policy, then the default; the first matching rule decides. ICMP always passes, and
replies to connections this node opened pass too. A running daemon applies changes at once.

Files (in services/ of the config directory): default (allow|deny, missing = allow),
global.policy, peer/<name>.policy, org/<name>.policy; one rule a line, '#' comments;
at most 64 rules and 4096 bytes a file, 64 peer files and 16 org files.

  list       print every file's rules
  allow|deny add a rule to global.policy, or to the peer's (--peer) or org's (--org) file
  default    set what happens when no rule matches
  show       what a peer (a trusted name or a key) may reach, for common TCP ports
  reset      remove every policy file (everything open again)

Org policies are read and checked, but apply to nobody until org certificates exist.
`,
  keygen: `Usage: meshguard keygen [--force] [--config DIR]

Creates this node's identity: identity.key (secret, mode 0600) and identity.pub in the
config directory, and prints the public key on stdout.

  --force    replace an existing identity. Peers that trust the old key will no longer
             admit this node, and its mesh addresses change.
`,
  export: `Usage: meshguard export [--config DIR]

Prints this node's public key (base64) on stdout, e.g. 'meshguard export > node-a.pub'.
Give it to the peers that should trust this node.
`,
  trust: `Usage: meshguard trust <key|file> [--name NAME] [--org] [--yes] [--ipv4-owner]
                     [--config DIR]

Trusts a public key: the base64 key itself, or a file holding it (such as a peer's
identity.pub). The key must be a valid Ed25519 public key.

  --name NAME   name to trust it under: a DNS label ([a-z0-9-], 1-63 characters).
                Default: the file name without its extension, or peer-<first key bytes>;
                for --org, the org's mesh domain.
  --org         trust an org key (its members, by certificate) instead of a single peer
  -y, --yes     replace a different key already trusted under NAME without asking
  --ipv4-owner  give this key its mesh IPv4 on this node even if another key that derives
                the same address holds it (pinned in ipv4_pins; the other key keeps IPv6)

Trusting an already trusted key under a new --name renames it. Mesh IPv4 addresses are a
hash of the key in a /16, so two keys can share one: the key trusted (or, with --open, seen)
first on this node keeps it, the other is reachable over its mesh IPv6 only; 'trust' says
which, and --ipv4-owner is how an administrator changes it.
`,
  revoke: `Usage: meshguard revoke <name|key> [--org] [--config DIR]

Stops trusting a peer, given by its name or its base64 public key.

  --org    revoke a trusted org instead of a peer
`,
  config: `Usage: meshguard config show [--json] [--config DIR]

Shows the config directory, this node's identity (Ed25519 key, derived WireGuard key,
mesh IPv4 and IPv6) and the trusted peers and orgs. Works offline and creates nothing.
Says, for each mesh IPv4 that more than one key derives, which key holds it on this node and
which keys get IPv6 only.

  --json   print one JSON object instead of text
`,
  device: `Usage: meshguard device <ifname> [--mtu N] [--port N] [--workers N] [--no-offload]

Runs a userspace WireGuard device in the foreground, like wireguard-go: creates the TUN
interface <ifname> (up, MTU 1420 by default), and serves the WireGuard UAPI socket
/var/run/wireguard/<ifname>.sock, so the standard wg tool configures it (wg set, wg setconf,
wg show). Addresses and routes are set as for any WireGuard interface (ip addr, wg-quick).
SIGINT or SIGTERM removes the interface and the socket. Needs root (CAP_NET_ADMIN) and
--allow-ffi --allow-read --allow-write --allow-net.

  --mtu N     interface MTU (default 1420)
  --port N    UDP listen port (default: any free port; wg set … listen-port changes it)
  --workers N data-path threads, each with its own TUN queue and UDP socket (default: one
              per CPU, at most 4; handshakes, timers and the UAPI stay on the main thread)
  --no-offload plain packets on the TUN: no virtio-net header, no TSO/USO super-packets
              (by default they are probed at start; the log says what the kernel gave)
`,
  up: `Usage: meshguard up [--seed HOST:PORT]... [options] [--config DIR]

Runs the mesh daemon in the foreground: joins the mesh through the seeds, builds a WireGuard
tunnel to every trusted member (keys in authorized_keys/), and gives the interface this node's
mesh addresses. 'trust' and 'revoke' take effect while it runs. Creates an identity if there is
none. SIGINT, SIGTERM or 'meshguard down' make it leave the mesh and remove the interface.
Needs root (CAP_NET_ADMIN) unless --no-tun; Deno permissions: --allow-env --allow-sys
--allow-read --allow-write --allow-net --allow-ffi.

  --seed HOST:PORT    a node to join through (repeatable, up to 16; names are resolved;
                      port defaults to 51821)
  --announce HOST:PORT
                      also advertise this address to members, e.g. a forwarded port on the
                      router or a known public address (repeatable, up to 4; names resolved)
  --port N            UDP port for WireGuard and membership (default 51821)
  --interface NAME    interface name (default mg0)
  --mtu N             interface MTU (default 1420)
  --workers N         data-path threads (default one per CPU, at most 4)
  --no-offload        plain packets on the TUN (no virtio-net header, no TSO/USO)
  --relay             relay WireGuard traffic (end-to-end encrypted) between trusted members
                      that have no direct path to each other; advertised to members
  --open              admit any node (by default only keys in authorized_keys/)
  --max-members N     with --open: admit at most N members that are not in authorized_keys/
                      (default 1024, at most 65534); newcomers beyond it are refused, logged
                      and counted in 'status'
  --stun HOST:PORT    a STUN server to learn this node's public address from (repeatable, up
                      to 8; names are resolved; port defaults to 3478). Default: no third
                      party; members answer STUN on their mesh port and the node asks up to
                      two trusted members with public addresses. '--stun none': no STUN
  --no-tun            membership only: no interface, no WireGuard
  --control PATH      control socket (default /run/meshguard/<interface>.sock as root,
                      else <config dir>/<interface>.sock)
  --log-level LEVEL   debug, info (default), warn or error
`,
  status: `Usage: meshguard status [--json] [--interface NAME] [--control PATH] [--config DIR]

Asks the running daemon for its status: this node's interface, port, keys and mesh addresses,
membership counts, and one row per peer (mesh IP, endpoint, state, last handshake, bytes
received and sent). Any local user may ask.

  --json             print the status as one JSON object
  --interface NAME   the daemon's interface (default mg0)
  --control PATH     the daemon's control socket. Default: /run/meshguard/<interface>.sock
                     when run as root, else <config dir>/<interface>.sock
`,
  netcheck: `Usage: meshguard netcheck [--json] [--interface NAME] [--control PATH] [--config DIR]

Asks the running daemon to send STUN Binding requests from its mesh port now, and prints what
came back: each server with its round-trip time and the address it saw, the mapped IPv4 and
IPv6 endpoints, and the NAT's mapping behaviour: public (no NAT), endpoint-independent (one
outside port for every destination: hole punching works), varies-by-destination (symmetric:
punching works only with public or endpoint-independent peers) or unknown (fewer than two
servers at different IPs answered). Waits at most about 6 s. Needs a running daemon: the
mapping that matters is the mesh port's. Any local user may ask.

  --json             print the report as one JSON object
  --interface NAME   the daemon's interface (default mg0)
  --control PATH     the daemon's control socket. Default: /run/meshguard/<interface>.sock
                     when run as root, else <config dir>/<interface>.sock
`,
  down: `Usage: meshguard down [--interface NAME] [--control PATH] [--config DIR]

Asks the running daemon to leave the mesh and stop. Only root or the user running the daemon
may do this.

  --interface NAME   the daemon's interface (default mg0)
  --control PATH     the daemon's control socket. Default: /run/meshguard/<interface>.sock
                     when run as root, else <config dir>/<interface>.sock
`,
  version: `Usage: meshguard version

Prints the version.
`,
  help: `Usage: meshguard help [command]

Shows the overview, or the help of one command.
`,
};
