import { BlockList, isIP } from 'node:net';

/** "1.2.3.4", "::1" or "10.0.0.0/8" as [address, prefix length, family], or undefined when it is neither. */
export function parseAddressRange(
  entry: string,
): [address: string, prefix: number, family: 'ipv4' | 'ipv6'] | undefined {
  const [address = '', bits, extra] = entry.trim().split('/');
  const version = isIP(address);
  if (!version || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return [address, prefix, version === 4 ? 'ipv4' : 'ipv6'];
}

/** An address as a peer reports it, with the IPv4-mapped IPv6 form ("::ffff:10.0.0.1") read as IPv4. */
function plainAddress(address: string | undefined): string {
  const a = address ?? '';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

/** A list of addresses and CIDR ranges (WEBHOOK_IP_ALLOWLIST, ADMIN_PROXY_ALLOWLIST); entries are checked by config. */
export class AddressList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const parsed = parseAddressRange(entry);
      if (!parsed) throw new Error(`not an address or CIDR range: "${entry}"`);
      this.list.addSubnet(parsed[0], parsed[1], parsed[2]);
    }
    this.size = entries.length;
  }

  /** True when `address` is in the list. */
  has(address: string | undefined): boolean {
    const a = plainAddress(address);
    const version = isIP(a);
    return version !== 0 && this.list.check(a, version === 4 ? 'ipv4' : 'ipv6');
  }
}
