; The zone gslb serves in the shipped example: gslb.example.com, delegated to gslb by its parent
; (example.com. NS ns1.gslb.example.com. with glue). Balanced names (app, www-geo, …) come from
; gslb.toml; everything else is ordinary zone data.
$ORIGIN gslb.example.com.
$TTL 3600
@               IN SOA  ns1.gslb.example.com. hostmaster.example.com. (
                        2026112301 ; serial
                        3600       ; refresh
                        600        ; retry
                        604800     ; expire
                        60 )       ; minimum: negative answers are cached 60 s
@               IN NS   ns1
@               IN NS   ns2
ns1             IN A    127.0.0.1
ns2             IN A    127.0.0.2
ns1             IN AAAA ::1
@               IN MX   10 mail
mail            IN A    192.0.2.25
@               IN TXT  "v=spf1 mx -all"
static          IN A    192.0.2.80
static          IN AAAA 2001:db8::80
www             IN CNAME app
docs            IN CNAME static
*.pages         IN A    192.0.2.90
_sip._udp       IN SRV  10 60 5060 mail
; a.b.deep exists, so b.deep is an empty non-terminal: NODATA, not NXDOMAIN
a.b.deep        IN TXT  "deep"
; a child zone run by another team, delegated with glue
team            IN NS   ns.team
ns.team         IN A    192.0.2.53
