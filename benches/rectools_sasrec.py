#!/usr/bin/env python3
"""A RecTools-style SASRec on Beauty, as a quality reference for localrec's trainer (not a test).

Follows RecTools' SASRec as used by the eSASRec benchmark for the published Beauty figure
(0.0531 NDCG@10): q-residual block (x = LN(x) + attn(LN(x), x, x)), ReLU feed-forward, no
sqrt(d) input scaling, Xavier-normal init (--init xavier), dropout on the item table used for
both input and output, inverse learnable positions, per-position sampled softmax (256 uniform
negatives) or --full cross-entropy; Adam lr 1e-3, batch 128, 1 thread. Trains on items[:-2]
and prints validation and test HR@10 / NDCG@10 (full ranking, history excluded, the protocol of
localrec eval) every --every epochs, until --epochs or --minutes.

  benches/rectools_sasrec.py --data DIR_WITH_Beauty.txt --init xavier --minutes 40
"""
import os, sys, math, time, random, argparse
p=argparse.ArgumentParser()
p.add_argument('--neg',type=int,default=256); p.add_argument('--drop',type=float,default=0.2)
p.add_argument('--epochs',type=int,default=200); p.add_argument('--minutes',type=float,default=35)
p.add_argument('--every',type=int,default=5); p.add_argument('--full',action='store_true')
p.add_argument('--seed',type=int,default=42); p.add_argument('--scale',action='store_true')
p.add_argument('--init',default='normal'); p.add_argument('--data',required=True)
a=p.parse_args()
os.environ['OMP_NUM_THREADS']='1'
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1); torch.manual_seed(a.seed); rng=random.Random(a.seed)
users=[]; vocab={}
for line in open(a.data if a.data.endswith('.txt') else os.path.join(a.data,'Beauty.txt')):
    f=line.split(); users.append([vocab.setdefault(x,len(vocab)+1) for x in f[1:]])
N=len(vocab); L=50; d=64
exs=[]
for u in users:
    s=u[:-2]
    if len(s)<2: continue
    s=s[-(L+1):]; exs.append((s[:-1],s[1:]))
X=np.zeros((len(exs),L),np.int64); Y=np.zeros((len(exs),L),np.int64)
for i,(x,y) in enumerate(exs): X[i,L-len(x):]=x; Y[i,L-len(y):]=y
class Layer(nn.Module):
    def __init__(s):
        super().__init__(); s.mha=nn.MultiheadAttention(d,1,a.drop,batch_first=True)
        s.qn=nn.LayerNorm(d); s.fn=nn.LayerNorm(d); s.l1=nn.Linear(d,d); s.l2=nn.Linear(d,d)
        s.d1=nn.Dropout(a.drop); s.dr=nn.Dropout(a.drop)
    def forward(s,x,am,kpm):
        q=s.qn(x); o,_=s.mha(q,x,x,attn_mask=am,key_padding_mask=kpm,need_weights=False)
        x=q+s.dr(o); fi=s.fn(x); x=s.dr(s.l2(s.d1(F.relu(s.l1(fi)))))+fi; return x
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.emb=nn.Embedding(N+1,d,padding_idx=0); s.pos=nn.Embedding(L,d)
        s.ed=nn.Dropout(a.drop); s.idd=nn.Dropout(a.drop); s.layer=Layer(); s.ln=nn.LayerNorm(d)
        if a.init=='xavier':
            for n_,p_ in s.named_parameters():
                if p_.dim()>=2: nn.init.xavier_normal_(p_.data)
        if a.init=='small':
            nn.init.normal_(s.emb.weight,0,d**-0.5); nn.init.normal_(s.pos.weight,0,d**-0.5)
    def items(s): return s.idd(s.emb.weight)
    def enc(s,ids,iemb):
        b,l=ids.shape; x=iemb[ids]
        if a.scale: x=x*d**0.5
        x=x+s.pos(torch.arange(l-1,-1,-1))[None]; x=s.ed(x)
        tm=(ids>0).unsqueeze(-1).float()
        am=torch.triu(torch.ones(l,l,dtype=torch.bool),1)
        kpm=ids==0
        x=x*tm; x=s.layer(x,am,kpm); x=x*tm; return s.ln(x)
m=M(); opt=torch.optim.Adam(m.parameters(),lr=1e-3)
def evaluate(split):
    m.eval(); hr=nd=0; n=0
    with torch.no_grad():
        ie=m.items()
        cases=[(u[:-2],u[-2]) if split=='valid' else (u[:-1],u[-1]) for u in users]
        for i in range(0,len(cases),512):
            ch=cases[i:i+512]; l=max(1,max(min(len(c[0]),L) for c in ch))
            ids=torch.zeros(len(ch),l,dtype=torch.long)
            for r,(h,_) in enumerate(ch):
                h=h[-L:]
                if h: ids[r,l-len(h):]=torch.tensor(h)
            sc=m.enc(ids,ie)[:,-1]@ie.T; sc[:,0]=-1e30
            for r,(h,t) in enumerate(ch):
                if h: sc[r,torch.tensor(h)]=-1e30
            tgt=torch.tensor([c[1] for c in ch]); ts=sc[torch.arange(len(ch)),tgt]
            sc[torch.arange(len(ch)),tgt]=-1e30
            rank=(sc>ts[:,None]).sum(1)
            for rk in rank.tolist():
                n+=1
                if rk<10: hr+=1; nd+=1/math.log2(rk+2)
    m.train(); return hr/n, nd/n
lengths=[len(e[0]) for e in exs]; order=list(range(len(exs))); t_start=time.time(); best=(0,0)
for ep in range(1,a.epochs+1):
    rng.shuffle(order); t0=time.time(); ls=0; nb=0
    for i in range(0,len(order),128):
        idx=np.array(order[i:i+128]); l=max(lengths[j] for j in idx)
        ids=torch.from_numpy(X[idx,L-l:]); y=torch.from_numpy(Y[idx,L-l:])
        ie=m.items(); h=m.enc(ids,ie); mask=y>0; hp=h[mask]; yt=y[mask]
        if a.full:
            lg=hp@ie.T; lg[:,0]=-1e9; loss=F.cross_entropy(lg,yt)
        else:
            neg=torch.randint(1,N+1,(hp.shape[0],a.neg))
            pl=(hp*ie[yt]).sum(-1,keepdim=True); nl=torch.einsum('pd,pnd->pn',hp,ie[neg])
            loss=F.cross_entropy(torch.cat([pl,nl],1),torch.zeros(len(yt),dtype=torch.long))
        opt.zero_grad(); loss.backward(); opt.step(); ls+=loss.item(); nb+=1
    msg=f'ep {ep} loss {ls/nb:.4f} {len(exs)/(time.time()-t0):.0f} seq/s t={time.time()-t_start:.0f}s'
    if ep%a.every==0:
        v=evaluate('valid'); te=evaluate('test'); msg+=f' valid {v[1]:.4f}/{v[0]:.4f} test {te[1]:.4f}/{te[0]:.4f}'
    print(msg,flush=True)
    if time.time()-t_start>a.minutes*60: break
