/** Who is calling, as decided once per request by `authenticate`. */
export interface Principal {
  userId: string;
  via: 'pat' | 'session' | 'service';
  /** '*' or the token's scope list. On ordinary routes a PAT acts as its user (spec 2.2); scopes gate OAuth-aware routes. */
  scopes: '*' | string[];
  isServerAdmin: boolean;
  patId?: string;
  sessionId?: string;
  /** Service tokens may be bound to one runtime session (spec 5) and space. */
  boundSessionId?: string;
  boundSpaceId?: string;
}
