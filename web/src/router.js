import { createRouter, createWebHistory } from 'vue-router'
import { session } from './session.js'
import SignIn from './views/SignIn.vue'
import ControlPlanes from './views/ControlPlanes.vue'
import ControlPlaneLayout from './views/ControlPlaneLayout.vue'
import EntityList from './views/EntityList.vue'
import EntityForm from './views/EntityForm.vue'
import EntityDetail from './views/EntityDetail.vue'
import PluginSelectView from './views/PluginSelectView.vue'
import DataPlaneNodes from './views/DataPlaneNodes.vue'
import CredentialForm from './views/CredentialForm.vue'
import Identity from './views/Identity.vue'
import NotFound from './views/NotFound.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: '/control-planes' },
    { path: '/sign-in', name: 'sign-in', component: SignIn, meta: { public: true } },
    { path: '/control-planes', name: 'control-planes', component: ControlPlanes },
    {
      path: '/control-planes/:cp',
      component: ControlPlaneLayout,
      props: true,
      children: [
        { path: '', redirect: (to) => `/control-planes/${to.params.cp}/services` },
        { path: 'plugins/select', component: PluginSelectView, props: true },
        {
          path: 'consumers/:consumerId/credentials/:pluginType/create',
          component: CredentialForm,
          props: true,
        },
        { path: 'data-plane-nodes', component: DataPlaneNodes, props: true },
        { path: 'plugins/create/:pluginType', component: EntityForm, props: (r) => ({ ...r.params, entityKey: 'plugins' }) },
        { path: ':entityKey', component: EntityList, props: true },
        { path: ':entityKey/create', component: EntityForm, props: true },
        { path: ':entityKey/:id', component: EntityDetail, props: true },
        { path: ':entityKey/:id/edit', component: EntityForm, props: true },
      ],
    },
    { path: '/identity/:tab(users|teams|tokens)', component: Identity, props: true },
    { path: '/identity', redirect: '/identity/tokens' },
    { path: '/:pathMatch(.*)*', component: NotFound },
  ],
})

router.beforeEach((to) => {
  if (!to.meta.public && !session.token) return { name: 'sign-in', query: { next: to.fullPath } }
  return true
})
