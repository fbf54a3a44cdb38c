// Every gateway entity the server implements, and how Kong's own entity components for it are
// mounted in Konnect mode. The components call this server's /v2/control-planes/{cp}/core-entities
// API themselves (same origin), with the session's token in `axiosRequestConfig`.
import { GatewayServiceList, GatewayServiceForm, GatewayServiceConfigCard } from '@kong-ui-public/entities-gateway-services'
import { RouteList, RouteForm, RouteConfigCard } from '@kong-ui-public/entities-routes'
import { ConsumerList, ConsumerForm, ConsumerConfigCard } from '@kong-ui-public/entities-consumers'
import { ConsumerGroupList, ConsumerGroupForm, ConsumerGroupConfigCard } from '@kong-ui-public/entities-consumer-groups'
import { PluginList, PluginForm, PluginConfigCard } from '@kong-ui-public/entities-plugins'
import { UpstreamsList, UpstreamsForm, UpstreamsConfigCard } from '@kong-ui-public/entities-upstreams-targets'
import {
  CertificateList, CertificateForm, CertificateConfigCard,
  CACertificateList, CACertificateForm, CACertificateConfigCard,
} from '@kong-ui-public/entities-certificates'
import { SniList, SniForm } from '@kong-ui-public/entities-snis'
import { KeyList, KeyForm, KeyConfigCard } from '@kong-ui-public/entities-keys'
import { KeySetList, KeySetForm, KeySetConfigCard } from '@kong-ui-public/entities-key-sets'
import { VaultList, VaultForm, VaultConfigCard } from '@kong-ui-public/entities-vaults'
import { authHeaders } from './session.js'

// key: the console's path segment. idProp: the form's prop naming the entity being edited.
export const ENTITIES = [
  { key: 'services', singular: 'Gateway Service', label: 'Gateway Services', list: GatewayServiceList, form: GatewayServiceForm, card: GatewayServiceConfigCard, idProp: 'gatewayServiceId' },
  { key: 'routes', singular: 'Route', label: 'Routes', list: RouteList, form: RouteForm, card: RouteConfigCard, idProp: 'routeId' },
  { key: 'consumers', singular: 'Consumer', label: 'Consumers', list: ConsumerList, form: ConsumerForm, card: ConsumerConfigCard, idProp: 'consumerId' },
  { key: 'consumer-groups', singular: 'Consumer Group', label: 'Consumer Groups', list: ConsumerGroupList, form: ConsumerGroupForm, card: ConsumerGroupConfigCard, idProp: 'consumerGroupId' },
  { key: 'plugins', singular: 'Plugin', label: 'Plugins', list: PluginList, form: PluginForm, card: PluginConfigCard, idProp: 'pluginId' },
  { key: 'upstreams', singular: 'Upstream', label: 'Upstreams', list: UpstreamsList, form: UpstreamsForm, card: UpstreamsConfigCard, idProp: 'upstreamId' },
  { key: 'certificates', singular: 'Certificate', label: 'Certificates', list: CertificateList, form: CertificateForm, card: CertificateConfigCard, idProp: 'certificateId' },
  { key: 'ca-certificates', singular: 'CA Certificate', label: 'CA Certificates', list: CACertificateList, form: CACertificateForm, card: CACertificateConfigCard, idProp: 'certificateId' },
  { key: 'snis', singular: 'SNI', label: 'SNIs', list: SniList, form: SniForm, card: null, idProp: 'sniId' },
  { key: 'keys', singular: 'Key', label: 'Keys', list: KeyList, form: KeyForm, card: KeyConfigCard, idProp: 'keyId' },
  { key: 'key-sets', singular: 'Key Set', label: 'Key Sets', list: KeySetList, form: KeySetForm, card: KeySetConfigCard, idProp: 'keySetId' },
  { key: 'vaults', singular: 'Vault', label: 'Vaults', list: VaultList, form: VaultForm, card: VaultConfigCard, idProp: 'vaultId' },
]

export function entityByKey(key) {
  return ENTITIES.find((e) => e.key === key)
}

// The Konnect-mode configuration every entity component takes, plus the console's routes for
// its links (create, view, edit, cancel).
export function entityConfig(controlPlaneId, entity, extra = {}) {
  const base = `/control-planes/${controlPlaneId}/${entity.key}`
  const idOf = (row) => (typeof row === 'object' && row !== null ? row.id : row)
  return {
    app: 'konnect',
    // Absolute: some components build their URLs with new URL(…), which needs an origin.
    apiBaseUrl: window.location.origin,
    controlPlaneId,
    axiosRequestConfig: { headers: authHeaders() },
    createRoute: entity.key === 'plugins' ? `${base}/select` : `${base}/create`,
    getViewRoute: (row) => `${base}/${idOf(row)}`,
    getEditRoute: (row) => `${base}/${idOf(row)}/edit`,
    getConfigureDynamicOrderingRoute: (row) => `${base}/${idOf(row)}/edit`,
    cancelRoute: base,
    // Vault forms: the providers Kong's open-source gateway ships.
    azureVaultProviderAvailable: false,
    ttl: true,
    ...extra,
  }
}
