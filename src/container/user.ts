import { TranslatorUser } from '../runtime/translator';
import { ContainerError } from './errors';
import { readFileInRoot } from './root-path';

/** A user spec resolved against the image: ids for the translator and the home folder. */
export interface ResolvedUser extends TranslatorUser {
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 0xfffffffe; // 2^32 - 2; (uid_t)-1 means "unchanged" to the kernel

/**
 * Resolves `spec` (`user`, `uid`, `user:group`, `uid:gid`, "" for root) through the root's
 * /etc/passwd and /etc/group, as Docker does: a name must be listed, a number need not be.
 * The user's primary group comes from passwd unless the spec names one, and supplementary
 * groups are the groups of /etc/group that list the user.
 */
export async function resolveUser(root: string, spec: string): Promise<ResolvedUser> {
  const [userPart, groupPart, ...extra] = spec.split(':');
  if (extra.length > 0) throw new ContainerError(`invalid user "${spec}": use USER[:GROUP]`);
  const passwd = parsePasswd((await readFileInRoot(root, '/etc/passwd')) ?? '');
  const groups = parseGroup((await readFileInRoot(root, '/etc/group')) ?? '');

  const userText = userPart === '' ? '0' : userPart;
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (isNumeric(userText)) {
    uid = parseId(userText, spec);
    entry = passwd.find((e) => e.uid === uid);
  } else {
    entry = passwd.find((e) => e.name === userText);
    if (entry === undefined) {
      throw new ContainerError(
        `unable to find user ${userText}: no matching entries in passwd file`,
      );
    }
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) {
      gid = parseId(groupPart, spec);
    } else {
      const group = groups.find((g) => g.name === groupPart);
      if (group === undefined) {
        throw new ContainerError(
          `unable to find group ${groupPart}: no matching entries in group file`,
        );
      }
      gid = group.gid;
    }
  }

  const supplementary =
    entry === undefined
      ? []
      : groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid);
  return { uid, gid, groups: [...new Set(supplementary)], home: entry?.home ?? '/' };
}

function isNumeric(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

function parseId(text: string, spec: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value > MAX_ID) {
    throw new ContainerError(`invalid user "${spec}": ${text} is out of range (0 to ${MAX_ID})`);
  }
  return value;
}

function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || !isNumeric(fields[2]) || !isNumeric(fields[3])) continue;
    entries.push({
      name: fields[0],
      uid: Number(fields[2]),
      gid: Number(fields[3]),
      home: fields[5],
    });
  }
  return entries;
}

function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4 || !isNumeric(fields[2])) continue;
    entries.push({
      name: fields[0],
      gid: Number(fields[2]),
      members: fields[3].split(',').filter((m) => m !== ''),
    });
  }
  return entries;
}
