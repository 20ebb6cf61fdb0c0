import { z } from 'zod';

const groupName = z.string().trim().min(1, 'a group name is empty').max(255, 'a group name is longer than 255 characters');

/** GET/PUT /api/permissions (site admin): who may send anywhere on the site. */
export const globalPermissionsSchema = z.strictObject({
  enabled: z.boolean({ message: 'enabled must be true or false' }),
  /** Empty: every user who can see the page may send. */
  allowedGroups: z.array(groupName).max(100, 'at most 100 groups').default([]),
  /** When true, space admins cannot change the rule for their space. */
  enforceInAllSpaces: z.boolean({ message: 'enforceInAllSpaces must be true or false' }).default(false),
});
export type GlobalPermissions = z.output<typeof globalPermissionsSchema>;

/** GET/PUT /api/spaces/:spaceKey/permissions (that space's admins or site admins). */
export const spacePermissionsSchema = z.strictObject({
  enabled: z.boolean({ message: 'enabled must be true or false' }),
  allowedGroups: z.array(groupName).max(100, 'at most 100 groups').default([]),
});
export type SpacePermissions = z.output<typeof spacePermissionsSchema>;

export interface SpacePermissionsView extends SpacePermissions {
  spaceKey: string;
  /** The global rule applies and this space's rule cannot be changed. */
  enforcedGlobally: boolean;
  /** Whether the calling user may change this space's rule. */
  editable: boolean;
}
